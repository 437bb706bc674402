"""SMS providers. `send` either returns the provider's message id or raises SmsError (retryable or not).

Every call carries our message id so a gateway that supports it can drop a duplicate after a retry (an SMS job
that dies between the gateway's answer and our commit sends again with the same id)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import httpx
import structlog

if TYPE_CHECKING:
    from services.api.notifications.settings import NotificationSettings

log = structlog.get_logger("bashu.sms")


@dataclass(frozen=True, slots=True)
class SmsSent:
    provider_message_id: str | None


class SmsError(Exception):
    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class SmsProvider(Protocol):
    async def send(self, phone: str, text: str, *, message_id: str) -> SmsSent: ...

    async def aclose(self) -> None: ...


def mask_phone(phone: str) -> str:
    digits = "".join(c for c in phone if c.isdigit())
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "****"


class LoggingSmsProvider:
    """Writes the message to the log (phone masked) instead of sending it: the default outside production."""

    async def send(self, phone: str, text: str, *, message_id: str) -> SmsSent:
        log.info("sms.logged", to=mask_phone(phone), text=text, message_id=message_id)
        return SmsSent(provider_message_id=None)

    async def aclose(self) -> None:
        return None


class HttpSmsProvider:
    """POSTs `{"to", "text", "message_id"}` as JSON to a gateway with HTTP basic credentials and an
    `Idempotency-Key` header. 2xx → sent (a JSON `id` in the answer is kept); 408/429/5xx and transport errors
    → retryable; other 4xx → permanent."""

    def __init__(self, url: str, *, username: str, password: str, timeout_seconds: float,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._url = url
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds), auth=httpx.BasicAuth(username, password) if username else None,
            follow_redirects=False, transport=transport)

    async def send(self, phone: str, text: str, *, message_id: str) -> SmsSent:
        try:
            response = await self._client.post(self._url, json={"to": phone, "text": text, "message_id": message_id},
                                               headers={"Idempotency-Key": message_id})
        except httpx.TimeoutException:
            raise SmsError("gateway timeout", retryable=True) from None
        except httpx.HTTPError as exc:
            raise SmsError(f"gateway unreachable: {type(exc).__name__}", retryable=True) from None
        if response.is_success:
            provider_id = None
            try:
                data = response.json()
                provider_id = str(data.get("id")) if isinstance(data, dict) and data.get("id") else None
            except ValueError:
                pass
            return SmsSent(provider_message_id=provider_id)
        retryable = response.status_code in {408, 429} or response.status_code >= 500
        raise SmsError(f"gateway answered HTTP {response.status_code}", retryable=retryable)

    async def aclose(self) -> None:
        await self._client.aclose()


def sms_provider_from_settings(settings: NotificationSettings) -> SmsProvider:
    if settings.sms_provider == "http":
        if not settings.sms_http_url:
            raise ValueError("SMS_PROVIDER=http needs SMS_HTTP_URL")
        return HttpSmsProvider(settings.sms_http_url, username=settings.sms_http_username,
                               password=settings.sms_http_password.get_secret_value(),
                               timeout_seconds=settings.sms_timeout_seconds)
    return LoggingSmsProvider()
