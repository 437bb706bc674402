"""Properties of certificate names (matching/certificates.py) over generated spellings: canonicalising is
idempotent, every spelling of one name (width, brackets, spaces, case, invisible characters) is that name, and a
list never keeps a blank or a duplicate."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from matching.certificates import canonical_certificate, canonical_certificates, certificate_names, tidy_certificate
from matching.visible_text import is_blank

_NAMES = certificate_names()
KNOWN = sorted({*_NAMES.official.values(), *_NAMES.common_names.values()})
PIECES = ["(", ")", "（", "）", "【", "】", "[", "]", " ", "\u3000", "\u200b", "\ufeff", "证书", "证", "N1", "ｎ１",
          "焊工", "叉车", "茶艺师", "中级"]
SPELLINGS = st.one_of(st.lists(st.one_of(st.sampled_from(KNOWN), st.sampled_from(PIECES)), max_size=5).map("".join),
                      st.text(max_size=20))
FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789()"}


@given(SPELLINGS)
def test_canonicalising_is_idempotent(written: str) -> None:
    canonical = canonical_certificate(written)
    assert canonical_certificate(canonical) == canonical
    assert tidy_certificate(tidy_certificate(written)) == tidy_certificate(written)


@given(st.sampled_from(KNOWN), st.sampled_from(["", " ", "\u3000", "\u200b", "\ufeff", "\u2060"]), st.integers(0, 30),
       st.booleans(), st.booleans())
def test_any_spelling_of_a_known_name_is_its_official_name(name: str, noise: str, at: int, wide: bool,
                                                          lower: bool) -> None:
    official = canonical_certificate(name)
    i = at % (len(name) + 1)
    written = name[:i] + noise + name[i:]
    written = written.lower() if lower else written
    written = written.translate(FULL_WIDTH) if wide else written
    assert canonical_certificate(written) == official


@given(st.lists(SPELLINGS, max_size=6))
def test_a_list_keeps_no_blank_and_no_duplicate(names: list[str]) -> None:
    canonical = canonical_certificates(names)
    assert len(canonical) == len(set(canonical))
    assert all(not is_blank(name) for name in canonical)
    assert canonical == [c for c in dict.fromkeys(map(canonical_certificate, names)) if c]
