"""POST /purge: remove (or, soft, mark stale) every entry carrying any of the tags given."""

from __future__ import annotations

from typing import Any

import falcon

from imagecache.services.tag_purge import MAX_TAGS, TagPurge, tag_problem
from imagecache.web.bodies.json_body import INVALID, read_json
from imagecache.web.error_responses import ApiError


class PurgeResource:
    def __init__(self, purge: TagPurge, max_body_bytes: int) -> None:
        self._purge = purge
        self._max_body = max_body_bytes

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, self._max_body)
        if not isinstance(body, dict):
            raise ApiError(400, "request body must be a JSON object", loc="body", kind=INVALID)
        tags = read_tags(body, required=True)
        soft = body.get("soft", False)
        if not isinstance(soft, bool):
            raise ApiError(400, "'soft' must be true or false", loc="soft", kind=INVALID)
        resp.media = {"purged": self._purge.purge(list(tags), soft), "soft": soft}


def read_tags(body: dict[str, Any], *, required: bool = False) -> tuple[str, ...]:
    """The body's `tags`: a list of at most 16 tags (at least one where `required`), each 1 to 128 printable
    characters."""
    tags = body.get("tags")
    if tags is None and not required:
        return ()
    least = 1 if required else 0
    if not isinstance(tags, list) or not least <= len(tags) <= MAX_TAGS:
        raise ApiError(400, f"'tags' must be a list of {least} to {MAX_TAGS} tags", loc="tags", kind=INVALID)
    for tag in tags:
        problem = tag_problem(tag)
        if problem:
            raise ApiError(400, problem, loc="tags", kind=INVALID)
    return tuple(dict.fromkeys(tags))
