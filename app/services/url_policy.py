"""The outbound URL policy: which URLs the server may fetch from or post to (uploads by URL, webhooks).

Only http(s); private, loopback, link-local, unspecified, multicast and reserved targets are refused unless
ALLOW_PRIVATE_URLS. Checked when a URL is accepted and again when connecting (a DNS answer may change).
"""

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from app.errors import InvalidInput

Resolver = Callable[[str, int], list[str]]
UPLOAD_FIELD = "url"


class AddressNotAllowed(InvalidInput):
    """A URL's host resolved to, or a connection reached, an address the policy refuses."""


@dataclass(frozen=True)
class Pinned:
    """A request aimed at one checked address; the Host header and the TLS name stay the URL's own."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (blocking)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidInput(f"The host '{host}' of the URL cannot be resolved.") from exc
    return sorted({str(info[4][0]) for info in infos})  # an IP sockaddr's host is a str; typeshed also allows int


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address (IPv4-mapped IPv6 judged as its IPv4 address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    blocked = ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
    return not (blocked or ip.is_unspecified or not ip.is_global)


def check_url(url: str, allow_private: bool, resolve: Resolver = resolve_host, field: str = UPLOAD_FIELD) -> str:
    """An http(s) URL whose host resolves only to public addresses (unless private ones are allowed)."""
    if allow_private:
        host_and_port(url, field)
    else:
        public_addresses(url, resolve, field)
    return url.strip()


def host_and_port(url: str, field: str = UPLOAD_FIELD) -> tuple[str, int]:
    """The host and port an http(s) URL points at; InvalidInput naming `field` for anything else."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidInput(f"Field '{field}' must be an http or https URL.")
    host = parts.hostname
    if not host:
        raise InvalidInput(f"Field '{field}' has no host.")
    try:
        return host, parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise InvalidInput(f"Field '{field}' has an invalid port.") from exc


def public_addresses(url: str, resolve: Resolver = resolve_host, field: str = UPLOAD_FIELD) -> list[str]:
    """Every address the URL's host resolves to, all of them public, else InvalidInput naming `field`."""
    host, port = host_and_port(url, field)
    try:
        addresses = resolve(host, port)
    except InvalidInput as exc:
        raise InvalidInput(_about(field, exc.message)) from exc
    if not addresses:
        raise InvalidInput(_about(field, f"The host '{host}' of the URL cannot be resolved."))
    for address in addresses:
        if not is_public_address(address):
            raise AddressNotAllowed(_about(field, _refused(host, address)))
    return addresses


def check_peer(response: httpx.Response, field: str = UPLOAD_FIELD) -> None:
    """The address a response's connection actually reached must be public too."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if peer and not is_public_address(str(peer[0])):
        raise AddressNotAllowed(_about(field, f"The URL connected to a non-public address ({peer[0]}); refused."))


def pin(url: str, addresses: list[str]) -> Pinned:
    """A request to one of the checked `addresses` (IPv4 first) instead of whatever the name resolves to later."""
    target = httpx.URL(url.strip())
    address = min(addresses, key=lambda candidate: ":" in candidate)
    extensions = {"sni_hostname": target.raw_host.decode("ascii")} if target.scheme == "https" else {}
    headers = {"Host": target.netloc.decode("ascii")}
    return Pinned(str(target.copy_with(host=address)), headers, extensions)


def _refused(host: str, address: str) -> str:
    return (
        f"The URL host '{host}' resolves to a private, loopback, link-local or reserved address "
        f"({address}); such URLs are refused (ALLOW_PRIVATE_URLS)."
    )


def _about(field: str, message: str) -> str:
    """Name the field in a message; uploads' field `url` keeps its historic wording."""
    if field == UPLOAD_FIELD:
        return message
    return f"Field '{field}': {message[0].lower()}{message[1:]}"
