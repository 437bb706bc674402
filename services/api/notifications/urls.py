"""Outbound webhook URLs and server-side request forgery.

A URL must be https in production; plain http is accepted only for loopback hosts in development and test.
The host is resolved and every address it resolves to must be public: private, link-local (169.254/16, the
cloud metadata address), multicast, reserved, unspecified and shared (100.64/10) addresses are refused, and
loopback too except in development and test. The check runs when an endpoint is registered and again before
every attempt, and the attempt connects to the very address that was checked (the Host header and TLS name
stay the URL's host), so a DNS answer that changes in between (rebinding) cannot redirect it. Redirects are
never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RESOLVE_TIMEOUT_SECONDS = 3.0
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class UnsafeUrl(ValueError):
    """The URL may not be called; the message says why (in Chinese and English)."""


@dataclass(frozen=True, slots=True)
class Target:
    url: str  # as registered
    scheme: str
    host: str  # as written (an IDN is kept as its ASCII form)
    port: int
    path_and_query: str

    def url_for(self, address: IPAddress) -> str:
        """The URL with the host replaced by the checked address (for connecting to exactly that address)."""
        literal = f"[{address}]" if address.version == 6 else str(address)
        return f"{self.scheme}://{literal}:{self.port}{self.path_and_query}"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


def _loopback_allowed(environment: str) -> bool:
    return environment in {"development", "test"}


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def parse_target(url: str, *, environment: str) -> Target:
    """Syntactic checks (scheme, credentials, host, port, http only for loopback in dev/test)."""
    if len(url) > 2048:
        raise UnsafeUrl("URL 过长 / URL too long")
    try:
        parts: SplitResult = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise UnsafeUrl("URL 无效 / invalid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise UnsafeUrl("仅支持 https / only https URLs are accepted")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("URL 不能包含用户名或密码 / URL must not contain credentials")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise UnsafeUrl("URL 缺少主机名 / URL has no host")
    try:
        host = host.encode("idna").decode("ascii") if _literal(host) is None else host
    except UnicodeError:
        raise UnsafeUrl("主机名无效 / invalid host name") from None
    if scheme == "http":
        literal = _literal(host)
        is_loopback = host in _LOOPBACK_NAMES or (literal is not None and literal.is_loopback)
        if not (_loopback_allowed(environment) and is_loopback):
            raise UnsafeUrl("必须使用 https（仅开发/测试环境的本机地址可用 http）/ https is required "
                            "(http only for loopback in development and test)")
    path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    return Target(url=url.strip(), scheme=scheme, host=host,
                  port=port or (443 if scheme == "https" else 80), path_and_query=path)


def check_address(address: IPAddress, *, environment: str) -> None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        if _loopback_allowed(environment):
            return
        raise UnsafeUrl("不允许本机地址 / loopback addresses are not allowed")
    shared = isinstance(address, ipaddress.IPv4Address) and address in ipaddress.IPv4Network("100.64.0.0/10")
    if (address.is_private or address.is_link_local or address.is_multicast or address.is_reserved
            or address.is_unspecified or shared or not address.is_global):
        raise UnsafeUrl(f"不允许内网或保留地址 / address {address} is private, link-local or reserved")


async def resolve(target: Target, *, environment: str) -> list[IPAddress]:
    """Every address of the host, each checked; UnsafeUrl if any is refused or the name does not resolve."""
    literal = _literal(target.host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_SECONDS)
        except (OSError, TimeoutError):
            raise UnsafeUrl(f"无法解析主机名 / cannot resolve {target.host}") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
        if not addresses:
            raise UnsafeUrl(f"无法解析主机名 / cannot resolve {target.host}")
    for address in addresses:
        # Refuse the name if any of its addresses is unsafe: an attacker's record set may mix them.
        check_address(address, environment=environment)
    return addresses


async def checked_target(url: str, *, environment: str) -> tuple[Target, list[IPAddress]]:
    target = parse_target(url, environment=environment)
    return target, await resolve(target, environment=environment)
