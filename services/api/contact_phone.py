"""A contact phone a client gives (an organisation's contact, a posting's recruiting contact): a mobile or a fixed
line with its area code, stored normalised (`matching.identity.parse_contact_phone`), so what a reader dials or a
gateway texts is a number and "123" is refused naming its field."""

from __future__ import annotations

from pydantic import AfterValidator

from matching.identity import InvalidPhone, parse_contact_phone


def _contact_phone(value: str) -> str:
    try:
        return parse_contact_phone(value)
    except InvalidPhone as exc:
        raise ValueError(f"{exc.message_zh} / {exc.message_en}") from None


CONTACT_PHONE = AfterValidator(_contact_phone)
