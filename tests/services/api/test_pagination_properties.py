"""Properties of the list cursor codec (services/api/pagination.py): a cursor we signed reads back as the position it
names, and anything else a client sends (random text, a cursor truncated or with one character changed, one of
another list, one signed by us over another shape) is the cursor problem (422), never another exception (500)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.api.pagination import Position, decode_cursor, encode_cursor, sign_payload
from services.api.problems import InvalidInput

SECRET = "a-test-cursor-secret"
SCOPE = "workers"

POSITIONS = st.builds(Position, st.datetimes(timezones=st.just(UTC)), st.uuids())
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)


def _decoded_or_refused(cursor: str, scope: str = SCOPE) -> Position | None:
    """The position, or None when the cursor is refused as the problem naming `cursor` (any other error fails)."""
    refused: list[InvalidInput] = []
    try:
        return decode_cursor(SECRET, scope, cursor)
    except InvalidInput as exc:
        refused.append(exc)
    assert [e.field for e in refused[0].errors] == ["cursor"]
    return None


@given(POSITIONS)
def test_a_cursor_reads_back_as_its_position_and_only_for_its_list(position: Position) -> None:
    cursor = encode_cursor(SECRET, SCOPE, position)
    assert cursor.isascii()
    assert len(cursor) <= 512
    assert decode_cursor(SECRET, SCOPE, cursor) == position
    assert _decoded_or_refused(cursor, scope="jobs") is None
    with pytest.raises(InvalidInput):
        decode_cursor("another-secret", SCOPE, cursor)


@given(POSITIONS, st.integers(0, 10_000), st.characters(), st.sampled_from(["cut", "replace", "insert", "drop"]))
def test_an_edited_cursor_is_refused_or_still_names_its_position(position: Position, at: int, char: str,
                                                                 edit: str) -> None:
    cursor = encode_cursor(SECRET, SCOPE, position)
    i = at % len(cursor)
    edited = {"cut": cursor[:i], "replace": cursor[:i] + char + cursor[i + 1 :],
              "insert": cursor[:i] + char + cursor[i:], "drop": cursor[:i] + cursor[i + 1 :]}[edit]
    # base64 decoding skips characters outside its alphabet, so an insertion may leave the same bytes: then the
    # cursor still names the same position, never another one.
    assert _decoded_or_refused(edited) in (None, position)


@given(st.text(max_size=600))
def test_random_text_is_refused(text: str) -> None:
    assert _decoded_or_refused(text) is None


# A position's shape with any value in either place: [created_at, id].
PAIRS = st.tuples(st.one_of(st.datetimes().map(datetime.isoformat), JSON),
                  st.one_of(st.uuids().map(str), JSON)).map(list)


@given(st.one_of(JSON, PAIRS))
def test_a_payload_of_another_shape_signed_for_this_list_is_refused_cleanly(value: object) -> None:
    # Only our own code signs, but a payload of another shape (an older cursor format, a bug) is still a 422.
    cursor = sign_payload(SECRET, SCOPE, orjson.dumps(value))
    decoded = _decoded_or_refused(cursor)
    assert decoded is None or isinstance(decoded.id, UUID)


@pytest.mark.parametrize("payload", [b'["2026-11-01T00:00:00+00:00", 20]', b'["2026-11-01", ["x"]]',
                                     b'[20, "0e9ab138-1234-5678-9abc-def012345678"]'])
def test_a_position_that_is_not_two_strings_is_refused(payload: bytes) -> None:
    # UUID(20) raised AttributeError (a 500), which the codec did not catch.
    with pytest.raises(InvalidInput):
        decode_cursor(SECRET, SCOPE, sign_payload(SECRET, SCOPE, payload))

