"""Text that is stored encrypted: the same characters a text column would take.

PostgreSQL refuses U+0000 in `text` (the API answers that with a 422, problems.py), but an encrypted value
reaches it as bytes, so a name or a note with control characters was stored and echoed back as it came. The
same rule is applied here, before encryption: no C0 control characters other than tab and line breaks.

The same rule serves text shown to others that is stored in clear (a posting's title and description, a licence
number, an organisation's name, a report's text): a control character there is never meant, and it went on to the
kiosk page, exports and webhook bodies as it came."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


CONTROL_CHARACTER = "含有控制字符（如 U+0000）/ contains a control character (such as U+0000)"


def has_control_character(value: str) -> bool:
    """For a list's items (skills, benefits), checked by the list's own validator: its errors name the list."""
    return _CONTROL.search(value) is not None


def _printable(value: str) -> str:
    if has_control_character(value):
        raise ValueError(CONTROL_CHARACTER)
    return value


SealedText = Annotated[str, AfterValidator(_printable)]

# The same check for a field with length bounds, written after them: Annotated[str, Field(max_length=50), PRINTABLE].
# Bounds given outside (`SealedText = Field(max_length=50)`) come after the check, and pydantic can then only
# count them generically: a long name was told "Value should have at most 50 items after validation, not 51".
PRINTABLE = AfterValidator(_printable)

# Word's manual line break (U+000B, Shift+Enter) and page break (U+000C) come with text pasted from a document: in
# text of several lines they are the line breaks they look like, not control characters to refuse unseen.
_WORD_BREAKS = str.maketrans({"\x0b": "\n", "\x0c": "\n"})


def _word_breaks_as_newlines(value: Any) -> Any:
    return value.translate(_WORD_BREAKS) if isinstance(value, str) else value


# Before the field's own checks: Annotated[str, Field(max_length=5000), PRINTABLE, LINE_BREAKS_FROM_WORD].
LINE_BREAKS_FROM_WORD = BeforeValidator(_word_breaks_as_newlines)


def printable_text(value: str) -> str:
    """`value` as the rule accepts text now: Word's breaks as line breaks, other control characters dropped. For
    text stored before they were refused, when a PATCH that does not touch it is merged with it and validated
    whole: an invisible character the client cannot see or send again must not make every later edit a 422."""
    return _CONTROL.sub("", value.translate(_WORD_BREAKS))
