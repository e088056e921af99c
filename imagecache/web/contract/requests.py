"""What clients send: request bodies and query strings.

Bodies are read strictly (JSON has no "5" for 5); query strings loosely, as
text is all a query string holds. A few bounds are the deployment's (MAX_TTL,
ENTRY_WAIT_TIMEOUT): Contract binds them from the configuration.
"""

from __future__ import annotations

import copy
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints, create_model, model_validator

from imagecache.config import Config
from imagecache.domain.callback_targets import MAX_URL_LENGTH
from imagecache.domain.entry_record import MAX_ENTRY_TAGS, EntryRecord
from imagecache.domain.job_settings import JOB_NAME_PATTERN
from imagecache.web.bodies.json_body import MAX_DEPTH
from imagecache_client.ids import ENTRY_ID_PATTERN

MAX_TAGS = 16
MAX_TAG_LENGTH = 128
MAX_EVENT_IDS = 100
MAX_EVENT_IDS_IN_URL = 40  # what a request line holds (gunicorn's 4,094 bytes): more are POSTed
MAX_INFO_PAGE = 1000

Tag = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TAG_LENGTH, pattern=r"^[ -~]+$")]
EntryIdText = Annotated[str, StringConstraints(pattern=ENTRY_ID_PATTERN)]
JobName = Annotated[str, StringConstraints(pattern=JOB_NAME_PATTERN)]
Seconds = Annotated[int, Field(ge=0)]

TAGS_DESCRIPTION = f"at most {MAX_TAGS} tags, each 1 to {MAX_TAG_LENGTH} printable ASCII characters"
WAIT_DESCRIPTION = "seconds to wait for the entry to settle, at most ENTRY_WAIT_TIMEOUT"


class Body(BaseModel):
    """A JSON request body: types exactly as JSON gives them; names it does not know are ignored."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _whole_numbers(cls, data: Any) -> Any:
        """JSON's 5.0 is the integer 5 (JSON Schema counts it one): an integer member takes it as 5; 5.5 stays
        refused."""
        if not isinstance(data, dict):
            return data
        return {
            name: int(value) if isinstance(value, float) and value.is_integer() and _takes_int(cls, name) else value
            for name, value in data.items()
        }


class Query(BaseModel):
    """A query string: numbers read from text; a finite number only."""

    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)


def _takes_int(model: type[BaseModel], name: str) -> bool:
    field = model.model_fields.get(name)
    if field is None:
        return False
    options = typing.get_args(field.annotation) or (field.annotation,)
    return any(typing.get_args(option)[:1] == (int,) or option is int for option in options)


class ImageRequestBody(Body):
    """POST /requests."""

    api_query: dict[str, Any] = Field(
        description=f"the job's query (opaque JSON, nested at most {MAX_DEPTH} deep); over QUERY_MAX_BYTES as "
        "canonical JSON it is a 413, and its job kind may check it and answer 400 (the chart kind's imageType "
        "and metrics, say)"
    )
    ttl: int | None = Field(None, ge=1, description="seconds the result lives (default: the kind's), at most MAX_TTL")
    max_age: Seconds | None = Field(None, description="reuse a result at most this many seconds old")
    refresh: bool = Field(False, description="produce the result anew")
    stale_while_revalidate: Seconds | None = Field(
        None, description="seconds past max_age a result may answer while one background refresh runs"
    )
    stale_if_error: Seconds | None = Field(
        None, description="seconds past max_age the last good result answers instead of a failed refresh"
    )
    tags: list[Tag] = Field(
        [],
        max_length=MAX_TAGS,
        description=f"{TAGS_DESCRIPTION}, for POST /purge. They join the tags of the entries the request reaches; "
        f"one that would then carry more than {MAX_ENTRY_TAGS} is a 400 that changes nothing",
    )
    callback_url: str | None = Field(
        None,
        max_length=MAX_URL_LENGTH,
        pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[!-~]+$",
        description="POSTed to (signed) when the entry settles: an http or https URL of printable ASCII. Refused "
        "(400) unless its host and port are in CALLBACK_ALLOWED_HOSTS (callbacks are off while that is empty), "
        "it names no credentials nor port 0, and a literal address in it is public",
    )
    job: JobName | None = Field(
        None,
        description="the job kind (GET /jobs lists those served now; one no live worker runs is refused with "
        "400); omitted: the deployment's default",
    )
    signed_url_ttl: int | None = Field(
        None,
        ge=1,
        description="seconds the answer's `signed_url` serves the result without an API key (never past the "
        "entry's expiry); refused (400) where SIGNED_URL_SECRET is empty",
    )


class PurgeRequest(Body):
    """POST /purge."""

    tags: list[Tag] = Field(min_length=1, max_length=MAX_TAGS, description=TAGS_DESCRIPTION)
    soft: bool = Field(False, description="mark stale instead of removing")


class EventIds(Body):
    """POST /events."""

    ids: list[EntryIdText] = Field(
        min_length=1, max_length=MAX_EVENT_IDS, description="entry ids, counted as given (an id twice counts twice)"
    )


class EntryQuery(Query):
    """GET /requests/{entry_id}."""

    wait: float | None = Field(None, ge=0, description=WAIT_DESCRIPTION)


class EventsQuery(Query):
    """GET /events."""

    id: list[EntryIdText] = Field(
        min_length=1, max_length=MAX_EVENT_IDS_IN_URL, description="entry ids, repeated; more are POSTed"
    )
    wait: float | None = Field(None, ge=0, description=WAIT_DESCRIPTION)


class EventsWait(Query):
    """POST /events' query string."""

    wait: float | None = Field(None, ge=0, description=WAIT_DESCRIPTION)


class InfoQuery(Query):
    """GET /info: a page of entries, the last to expire first, those on it that match the filters."""

    limit: int = Field(100, ge=1, le=MAX_INFO_PAGE, description="entries on the page")
    cursor: EntryIdText | None = Field(None, description="next_cursor of the page before")
    status: Literal["active", "pending", "error"] | None = Field(None, description="only entries in this status")
    kind: JobName | None = Field(None, description="only entries of this job kind")
    tag: Tag | None = Field(None, description="only entries carrying this tag")

    def matches(self, entry: EntryRecord) -> bool:
        return (
            (self.status is None or entry.status.value == self.status)
            and (self.kind is None or entry.job == self.kind)
            and (self.tag is None or self.tag in entry.tags)
        )

    def filters(self) -> dict[str, str]:
        """The filters given, as a query string holds them (for the next page's link)."""
        return {name: value for name in ("status", "kind", "tag") if (value := getattr(self, name)) is not None}

    @property
    def filtering(self) -> bool:
        return bool(self.filters())


class CacheIdParams(RootModel[Annotated[dict[str, Any], Field(min_length=1)]]):
    """POST /v1/cache_id: any JSON object of at least one member names a file."""

    model_config = ConfigDict(strict=True, frozen=True)


Model = TypeVar("Model", bound=BaseModel)


def bounded(model: type[Model], **maxima: float) -> type[Model]:
    """The model with these fields' upper bounds set (the deployment's), everything else as declared."""
    fields: dict[str, Any] = {}
    for name, most in maxima.items():
        declared = copy.copy(model.model_fields[name])
        fields[name] = (Annotated[declared.annotation, *declared.metadata, Field(le=most)], declared)
    return create_model(model.__name__, __base__=model, __module__=model.__module__, **fields)


@dataclass(frozen=True)
class Contract:
    """The request models as this deployment validates them."""

    max_wait: float  # ENTRY_WAIT_TIMEOUT: what a stream waits when asked for no less
    image_request: type[ImageRequestBody]
    entry_query: type[EntryQuery]
    events_query: type[EventsQuery]
    events_wait: type[EventsWait]

    @classmethod
    def of(cls, config: Config) -> Contract:
        wait = config.wait_timeout
        return cls(
            max_wait=wait,
            image_request=bounded(ImageRequestBody, ttl=config.max_ttl, signed_url_ttl=config.max_ttl),
            entry_query=bounded(EntryQuery, wait=wait),
            events_query=bounded(EventsQuery, wait=wait),
            events_wait=bounded(EventsWait, wait=wait),
        )
