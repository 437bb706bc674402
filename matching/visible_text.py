"""Whether a piece of text shows anything.

str.strip() removes whitespace but keeps format characters (category Cf: zero-width space and joiners, word
joiner, BOM), so a name, title or purpose made of those passes a "not empty" check while nobody can see, read
or type it. Text is blank here when it holds nothing but whitespace and format characters.
"""

from __future__ import annotations

import unicodedata


def _invisible(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) == "Cf"


def is_blank(text: str) -> bool:
    """Nothing visible: whitespace and format characters only (the empty string included)."""
    return all(_invisible(ch) for ch in text)


def require_visible(text: str, what_zh: str, what_en: str) -> str:
    """`text`, or ValueError saying the field (`what_zh` / `what_en`: 标题 / title) must show something. For a field
    whose min_length counts a zero-width space as a character."""
    if is_blank(text):
        raise ValueError(f"{what_zh}不能只含空白或不可见字符 / the {what_en} must have visible characters")
    return text


def visible_length(text: str) -> int:
    """How many characters of `text` are neither whitespace nor format characters."""
    return sum(1 for ch in text if not _invisible(ch))
