"""Reading a request through its model: a 400 that names the field and says what is wrong, or the value."""

from __future__ import annotations

import typing
from typing import Any, TypeVar

import falcon
from pydantic import BaseModel, ValidationError

from imagecache.web.bodies.json_body import INVALID, read_json
from imagecache.web.error_responses import ApiError

Model = TypeVar("Model", bound=BaseModel)


def read_body(req: falcon.Request, model: type[Model], max_bytes: int) -> Model:
    """The JSON body (json_body.read_json's bounds) as the model."""
    return validated(model, read_json(req, max_bytes))


def read_query(req: falcon.Request, model: type[Model]) -> Model:
    """The query string as the model: a list field takes every value of a repeated name, any other the last."""
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        given = req.params.get(name)
        if given is None:
            continue
        many = isinstance(given, list)
        if typing.get_origin(field.annotation) is list:
            values[name] = given if many else [given]
        else:
            values[name] = given[-1] if many else given
    return validated(model, values)


def validated(model: type[Model], data: Any) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise refusal(exc) from None


def refusal(exc: ValidationError) -> ApiError:
    """The first problem, as Kentik's error body: `loc` the top-level field (or `body`), `msg` what is wrong
    with which part of it."""
    error = exc.errors(include_url=False, include_input=False)[0]
    path = error["loc"]
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
    message = f"'{where}': {error['msg']}" if where else f"body: {error['msg']}"
    return ApiError(400, message, loc=str(path[0]) if path else "body", kind=INVALID)
