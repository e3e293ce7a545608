"""Where webhooks may be sent: a URL policy checked at creation and again at each attempt.

- Only ``http`` and ``https``.
- Never to link-local or cloud-metadata addresses (169.254.0.0/16, fe80::/10,
  100.100.100.200, fd00:ec2::254, 192.0.0.192), nor to unspecified, multicast or reserved
  ones; IPv6 forms that embed an IPv4 address (::ffff:a.b.c.d, NAT64, 6to4, Teredo) are
  judged by the IPv4 address too.
- Private, loopback, CGNAT and other non-global addresses only when the operator allows them
  (``PROMPTOPS_WEBHOOK_ALLOW_PRIVATE``; allowed by default in development mode).

Every address the host resolves to must pass (one bad answer refuses the URL), and
:func:`check_url` returns the address to connect to, so the request goes to the address that
was checked (no second lookup that DNS could answer differently).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from promptops.errors import PromptOpsError

__all__ = ["Target", "UrlRefusedError", "check_url", "classify"]

IP = ipaddress.IPv4Address | ipaddress.IPv6Address

_ALWAYS_BLOCKED = [
    ipaddress.ip_network(n)
    for n in (
        "169.254.0.0/16",  # link-local: AWS/GCP/Azure/OCI metadata at 169.254.169.254
        "fe80::/10",  # IPv6 link-local
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "fd00:ec2::254/128",  # AWS metadata over IPv6
        "192.0.0.192/32",  # Oracle Cloud (classic) metadata
        "0.0.0.0/8",  # "this network": 0.0.0.0 reaches the local host on Linux
    )
]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Resolver = Callable[[str, int], list[str]]


class UrlRefusedError(PromptOpsError, ValueError):
    """The URL may not be used as a webhook target; the message says why."""


@dataclass(frozen=True, slots=True)
class Target:
    url: str  # as given
    host: str  # the host name (for the Host header and TLS server name)
    port: int
    address: str  # the checked IP address to connect to


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def classify(ip: IP) -> str:
    """``"blocked"`` (never), ``"private"`` (only when allowed) or ``"public"``."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_v4(ip)
        if inner is not None:
            kind = classify(inner)
            if kind != "public":
                return kind
    if any(ip in net for net in _ALWAYS_BLOCKED if net.version == ip.version):
        return "blocked"
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        return "blocked"
    if ip.is_loopback:
        return "private"
    if ip.is_reserved:  # 240.0.0.0/4, 255.255.255.255, ::/8 (IPv4-compatible), ...
        return "blocked"
    if ip.is_private or not ip.is_global:
        return "private"
    return "public"


def _system_resolver(host: str, port: int) -> list[str]:
    infos: list[Any] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def check_url(url: str, *, allow_private: bool, resolve: Resolver = _system_resolver) -> Target:
    """Check ``url`` against the policy; raises :class:`UrlRefusedError` naming the reason."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UrlRefusedError(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UrlRefusedError("only http:// and https:// URLs can receive webhooks")
    host = parts.hostname
    if not host:
        raise UrlRefusedError("the URL has no host")
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(host.split("%", 1)[0])]
    except ValueError:
        try:
            found = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise UrlRefusedError(f"the host {host!r} does not resolve: {exc}") from None
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in dict.fromkeys(found)]
        if not addresses:
            raise UrlRefusedError(f"the host {host!r} does not resolve") from None
    for address in addresses:
        kind = classify(address)
        if kind == "blocked":
            raise UrlRefusedError(
                f"the host {host!r} is (or resolves to) {address}, a link-local, metadata or"
                " reserved address; webhooks are never sent there"
            )
        if kind == "private" and not allow_private:
            raise UrlRefusedError(
                f"the host {host!r} is (or resolves to) {address}, a private or loopback"
                " address; the operator has not allowed those (PROMPTOPS_WEBHOOK_ALLOW_PRIVATE)"
            )
    return Target(url=url, host=host, port=port, address=str(addresses[0]))
