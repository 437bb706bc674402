"""Text that is stored encrypted: the same characters a text column would take.

PostgreSQL refuses U+0000 in `text` (the API answers that with a 422, problems.py), but an encrypted value
reaches it as bytes, so a name or a note with control characters was stored and echoed back as it came. The
same rule is applied here, before encryption: no C0 control characters other than tab and line breaks."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("含有控制字符（如 U+0000）/ contains a control character (such as U+0000)")
    return value


SealedText = Annotated[str, AfterValidator(_printable)]

# The same check for a field with length bounds, written after them: Annotated[str, Field(max_length=50), PRINTABLE].
# Bounds given outside (`SealedText = Field(max_length=50)`) come after the check, and pydantic can then only
# count them generically: a long name was told "Value should have at most 50 items after validation, not 51".
PRINTABLE = AfterValidator(_printable)
