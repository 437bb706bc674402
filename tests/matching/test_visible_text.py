"""Blank text: whitespace and format characters only (what str.strip() does not see through)."""

from __future__ import annotations

import pytest

from matching.visible_text import is_blank, require_visible, visible_length


@pytest.mark.parametrize("text", ["", "  ", "\u200b", "\ufeff", "\u2060", " \u200d\u3000"])
def test_invisible_text_is_blank(text: str) -> None:
    assert is_blank(text)
    assert visible_length(text) == 0


@pytest.mark.parametrize(("text", "visible"), [("焊工", 2), ("\u200b焊 工\u200b", 2), ("a", 1), ("签合同", 3)])
def test_visible_characters_are_counted(text: str, visible: int) -> None:
    assert not is_blank(text)
    assert visible_length(text) == visible


def test_a_field_that_must_show_something_names_itself() -> None:
    assert require_visible("\u200b焊工", "标题", "title") == "\u200b焊工"
    with pytest.raises(ValueError, match=r"^标题不能只含空白或不可见字符 / the title must have visible characters$"):
        require_visible(" \u200b", "标题", "title")
