"""Text a client gives that is stored inside a jsonb value (a posting's contact, a placement event's note).

jsonb cannot hold U+0000. Left to PostgreSQL, the refusal reached the client as a 422 all the same, but the server's
error log quoted the JSON before the character: a recruiter's name and phone, or a note about a person. So the
character is refused here, naming the field, before anything reaches the database."""

from __future__ import annotations

from typing import Any

from pydantic import AfterValidator

UNSTORABLE = "含有无法保存的字符 U+0000 / contains the character U+0000, which cannot be stored"


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError(UNSTORABLE)
    return value


STORABLE_IN_JSONB = AfterValidator(_storable)


def storable_text(value: Any) -> Any:
    """A request model's field (a text or a list of texts) refused when it holds U+0000: for a `field_validator("*")`
    of the models whose text goes to plain text columns (a posting's title and description, a profile's skills).
    PostgreSQL refuses the character there too, but its refusal was answered as a 422 without `errors`, so the
    client was not told which field held it."""
    if isinstance(value, str):
        return _storable(value)
    if isinstance(value, list) and any(isinstance(item, str) and "\x00" in item for item in value):
        raise ValueError(UNSTORABLE)
    return value
