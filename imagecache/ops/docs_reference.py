"""The reference pages' generated parts, made from the code when the documentation is built (docs/hooks.py): the
HTTP API from the OpenAPI document the server serves, the configuration from Config, the commands from their
parsers. Nothing here is written by hand twice."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from imagecache.config import load_config
from imagecache.ops.config_reference import reference_table
from imagecache.web import cache_status
from imagecache.web.contract.openapi import OpenApiDocument, SwitchedOn
from imagecache.web.contract.requests import Contract


def http_api() -> str:
    """Every operation: its parameters, body and answers, with the schemas they name."""
    config = load_config(_env_file=None)
    document = OpenApiDocument(Contract.of(config), SwitchedOn(), kinds=["chart", "kentik"]).build()
    parts = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            parts.append(_operation(method.upper(), path, operation))
    schemas = document["components"]["schemas"]
    parts.append("## Schemas\n")
    parts += [f"### {name}\n\n```json\n{json.dumps(schema, indent=2)}\n```\n" for name, schema in schemas.items()]
    return "\n".join(parts)


def _operation(method: str, path: str, operation: dict[str, Any]) -> str:
    lines = [f"### `{method} {path}`", "", operation.get("summary", ""), ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | required | schema | meaning |", "| --- | --- | --- | --- | --- |"]
        for parameter in parameters:
            schema = json.dumps(parameter.get("schema", {})).replace("|", "\\|")
            lines.append(
                f"| `{parameter['name']}` | {parameter['in']} | {'yes' if parameter.get('required') else 'no'} "
                f"| `{schema}` | {parameter.get('description', '')} |"
            )
        lines.append("")
    body = operation.get("requestBody", {}).get("content", {})
    for media, content in body.items():
        lines.append(f"Body ({media}): {_schema_name(content['schema'])}")
        lines.append("")
    lines += ["| answer | meaning | body |", "| --- | --- | --- |"]
    for status, answer in operation["responses"].items():
        bodies = ", ".join(
            f"{media}: {_schema_name(content.get('schema', {}))}"
            for media, content in answer.get("content", {}).items()
        )
        lines.append(f"| {status} | {answer.get('description', '')} | {bodies} |")
    return "\n".join(lines) + "\n"


def _schema_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref", "")
    if ref:
        name = ref.rpartition("/")[2]
        return f"[{name}](#{name.lower()})"
    return f"`{json.dumps(schema)}`"


def configuration() -> str:
    return reference_table()


def commands() -> str:
    """Each command's help, as its parser prints it."""
    from imagecache.ops.cli import command_parser as server_parser
    from imagecache_client.cli import command_parser as client_parser

    return "\n".join(
        _help(name, make) for name, make in (("imagecache", server_parser), ("imagecache-client", client_parser))
    )


def _help(name: str, make: Callable[[], argparse.ArgumentParser]) -> str:
    top = make()
    sections = [f"## `{name}`\n\n```text\n{top.format_help()}```\n"]
    for action in top._actions:  # noqa: SLF001  (argparse lists its subcommands nowhere else)
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for command, sub in action.choices.items():
                sections.append(f"### `{name} {command}`\n\n```text\n{sub.format_help()}```\n")
    return "\n".join(sections)


def cache_status_values() -> str:
    """What each Cache-Status member this cache sends means."""
    rows = [f"| `{value}` | {meaning} |" for value, meaning in cache_status.ANSWERS.items()]
    return "\n".join(["| value | meaning |", "| --- | --- |", *rows]) + "\n"


GENERATED = {
    "http-api": http_api,
    "configuration": configuration,
    "commands": commands,
    "cache-status": cache_status_values,
}
