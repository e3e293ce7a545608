"""The webhook URL policy (pure: host names resolve through a fake resolver)."""

from __future__ import annotations

import ipaddress

import pytest

from promptops.domain.ssrf import UrlRefusedError, check_url, classify


def resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("Name or service not known")
        return table[host]

    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",  # AWS, GCP, Azure, OCI metadata
        "169.254.0.1",
        "100.100.100.200",  # Alibaba metadata
        "fd00:ec2::254",  # AWS metadata (IPv6)
        "fe80::1",
        "::ffff:169.254.169.254",  # IPv4-mapped
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "0.0.0.0",
        "::",
        "224.0.0.1",
        "ff02::1",
        "255.255.255.255",
        "240.0.0.1",
    ],
)
def test_link_local_metadata_and_reserved_addresses_are_always_blocked(address: str) -> None:
    assert classify(ipaddress.ip_address(address)) == "blocked"
    host = f"[{address}]" if ":" in address else address
    for allow in (True, False):
        with pytest.raises(UrlRefusedError, match="never sent there"):
            check_url(f"http://{host}/hook", allow_private=allow)


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "fc00::1"],
)
def test_private_and_loopback_addresses_need_the_operator(address: str) -> None:
    assert classify(ipaddress.ip_address(address)) == "private"
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(UrlRefusedError, match="PROMPTOPS_WEBHOOK_ALLOW_PRIVATE"):
        check_url(f"http://{host}:8080/hook", allow_private=False)
    assert check_url(f"http://{host}:8080/hook", allow_private=True).port == 8080


def test_public_addresses_pass() -> None:
    assert classify(ipaddress.ip_address("93.184.216.34")) == "public"
    target = check_url("https://93.184.216.34/x", allow_private=False)
    assert (target.host, target.port, target.address) == ("93.184.216.34", 443, "93.184.216.34")


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "file:///etc/passwd", "gopher://127.0.0.1/", "javascript:alert(1)"],
)
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(UrlRefusedError, match="only http"):
        check_url(url, allow_private=True)


@pytest.mark.parametrize("url", ["http://", "http:///path", "https://host:99999/", "not a url"])
def test_malformed_urls(url: str) -> None:
    with pytest.raises(UrlRefusedError):
        check_url(url, allow_private=True)


def test_every_resolved_address_must_pass() -> None:
    """A name with one public and one metadata answer is refused (DNS tricks)."""
    table = {
        "hooks.example.com": ["93.184.216.34"],
        "sneaky.example.com": ["93.184.216.34", "169.254.169.254"],
        "internal.example.com": ["10.0.0.5"],
    }
    target = check_url("https://hooks.example.com/in", allow_private=False, resolve=resolver(table))
    assert (target.host, target.address) == ("hooks.example.com", "93.184.216.34")
    with pytest.raises(UrlRefusedError, match=r"169\.254\.169\.254"):
        check_url("https://sneaky.example.com/", allow_private=True, resolve=resolver(table))
    with pytest.raises(UrlRefusedError, match="private"):
        check_url("https://internal.example.com/", allow_private=False, resolve=resolver(table))
    with pytest.raises(UrlRefusedError, match="does not resolve"):
        check_url("https://nowhere.example.com/", allow_private=True, resolve=resolver(table))


def test_localhost_by_name_is_private() -> None:
    with pytest.raises(UrlRefusedError, match="private or loopback"):
        check_url("http://localhost:8000/hook", allow_private=False)
    assert check_url("http://localhost:8000/hook", allow_private=True).address in (
        "127.0.0.1",
        "::1",
    )
