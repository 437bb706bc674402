"""Sending text messages through a provider interface: a logging provider by default, an HTTP provider for a
real gateway (configured by URL and credentials). Tests use a fake behind the same interface."""

from services.sms.provider import (
    HttpSmsProvider,
    LoggingSmsProvider,
    SmsError,
    SmsProvider,
    SmsSent,
    mask_phone,
    sms_provider_from_settings,
)

__all__ = ["HttpSmsProvider", "LoggingSmsProvider", "SmsError", "SmsProvider", "SmsSent", "mask_phone",
           "sms_provider_from_settings"]
