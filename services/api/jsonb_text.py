"""Text a client gives that is stored inside a jsonb value (a posting's contact, a placement event's note).

jsonb cannot hold U+0000. Left to PostgreSQL, the refusal reached the client as a 422 all the same, but the server's
error log quoted the JSON before the character: a recruiter's name and phone, or a note about a person. So the
character is refused here, naming the field, before anything reaches the database."""

from __future__ import annotations

from pydantic import AfterValidator


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("含有无法保存的字符 U+0000 / contains the character U+0000, which cannot be stored")
    return value


STORABLE_IN_JSONB = AfterValidator(_storable)
