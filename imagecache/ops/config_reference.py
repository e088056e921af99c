"""The configuration reference, made from Config: each setting's name, default, bounds and description live on its
field (config.py), and this renders them as the table the documentation shows (ops/docs_reference.py)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic.fields import FieldInfo

from imagecache.config import Config


def reference_table() -> str:
    """The table, one row per setting, in the order Config declares them."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Config.model_fields.items():
        rows.append(f"| `{name.upper()}` | {shown_default(field)} | {field.description}{bounds(field)} |")
    return "\n".join(rows)


def shown_default(field: FieldInfo) -> str:
    extra = field.json_schema_extra
    if isinstance(extra, dict) and "shown" in extra:
        return str(extra["shown"])
    value = field.default
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value == "":
        return "empty"
    if isinstance(value, bool):
        return str(value).lower()
    return f"`{value}`" if isinstance(value, str) else str(value)


def bounds(field: FieldInfo) -> str:
    """The numeric bounds its validation holds it to, e.g. `; at least 1, at most 1024`."""
    said = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}
    parts = [
        f"{words} {value}"
        for name, words in said.items()
        for item in field.metadata
        if (value := getattr(item, name, None)) is not None
    ]
    return "; " + ", ".join(parts) if parts else ""
