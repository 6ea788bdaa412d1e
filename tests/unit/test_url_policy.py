"""The outbound URL policy as uploads by URL and webhooks see it; every name goes through an injected resolver."""

import asyncio
import ipaddress
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from app.errors import InvalidInput
from app.services.jobs import Job
from app.services.url_policy import check_peer, check_url, is_public_address, pin
from app.services.webhooks import WebhookSender, check_webhook_url

NON_PUBLIC = [
    "10.1.2.3",
    "10.255.255.254",
    "172.16.0.9",
    "172.31.255.254",
    "192.168.1.1",
    "127.0.0.1",
    "127.8.9.10",
    "169.254.169.254",
    "0.0.0.0",
    "100.64.0.1",
    "100.127.255.254",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fc00::5",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700::6810:85e5", "2001:4860:4860::8888"]
NOT_HTTP = [
    "ftp://example.org/x",
    "file:///etc/passwd",
    "gopher://example.org/",
    "javascript:alert(1)",
    "example.org/x",
]


def literal(host: str, port: int) -> list[str]:
    """A resolver that answers an IP literal with itself and refuses to look anything else up."""
    return [str(ipaddress.ip_address(host))]


def resolving_to(*addresses: str) -> Callable[[str, int], list[str]]:
    return lambda host, port: list(addresses)


def never_resolve(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} was resolved")


def url_for(address: str, scheme: str = "http") -> str:
    return f"{scheme}://[{address}]/hook" if ":" in address else f"{scheme}://{address}/hook"


class RecordingJobs:
    """Just enough of the job store for a WebhookSender: remembers every update."""

    def __init__(self) -> None:
        self.updates: list[tuple[str, dict[str, Any]]] = []

    def update(self, job_id: str, **fields: Any) -> None:
        self.updates.append((job_id, fields))


@pytest.fixture
def no_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(*args: Any, **kwargs: Any) -> httpx.Response:
        raise AssertionError("a request was sent")

    monkeypatch.setattr(httpx.AsyncClient, "send", refuse)


@pytest.mark.parametrize("address", NON_PUBLIC)
def test_a_non_public_address_is_not_public(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_a_public_address_is_public(address: str) -> None:
    assert is_public_address(address)


@pytest.mark.parametrize("address", NON_PUBLIC)
def test_webhook_to_a_non_public_address_is_refused(address: str) -> None:
    with pytest.raises(InvalidInput, match="webhook_url") as refused:
        check_webhook_url(url_for(address), allow_private=False, resolve=literal)
    assert refused.value.status_code == 400


@pytest.mark.parametrize("address", NON_PUBLIC)
def test_upload_from_a_non_public_address_is_refused(address: str) -> None:
    with pytest.raises(InvalidInput, match="ALLOW_PRIVATE_URLS"):
        check_url(url_for(address), allow_private=False, resolve=literal)


@pytest.mark.parametrize("address", NON_PUBLIC)
def test_webhook_to_a_name_resolving_to_a_non_public_address_is_refused(address: str) -> None:
    with pytest.raises(InvalidInput, match=r"hooks\.example"):
        check_webhook_url("https://hooks.example/x", allow_private=False, resolve=resolving_to(address))


@pytest.mark.parametrize("address", NON_PUBLIC)
def test_upload_from_a_name_resolving_to_a_non_public_address_is_refused(address: str) -> None:
    with pytest.raises(InvalidInput, match=r"files\.example"):
        check_url("https://files.example/a.png", allow_private=False, resolve=resolving_to(address))


def test_webhook_to_the_cloud_metadata_address_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_webhook_url("http://169.254.169.254/latest/meta-data/", allow_private=False, resolve=literal)
    assert refused.value.message.startswith("Field 'webhook_url': ")
    assert "169.254.169.254" in refused.value.message


def test_webhook_to_a_name_with_one_private_address_among_public_ones_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"10\.0\.0\.7"):
        check_webhook_url("http://mixed.example/", False, resolving_to("93.184.216.34", "10.0.0.7"))


def test_upload_refusals_keep_their_wording() -> None:
    with pytest.raises(InvalidInput) as private:
        check_url("http://127.0.0.1/a.png", allow_private=False, resolve=literal)
    assert private.value.message == (
        "The URL host '127.0.0.1' resolves to a private, loopback, link-local or reserved address "
        "(127.0.0.1); such URLs are refused (ALLOW_PRIVATE_URLS)."
    )
    for url, message in [
        ("ftp://example.org/a.png", "Field 'url' must be an http or https URL."),
        ("http:///a.png", "Field 'url' has no host."),
        ("http://example.org:99999/a.png", "Field 'url' has an invalid port."),
    ]:
        with pytest.raises(InvalidInput) as refused:
            check_url(url, allow_private=False, resolve=never_resolve)
        assert refused.value.message == message


@pytest.mark.parametrize("address", PUBLIC)
def test_webhook_and_upload_to_a_public_address_are_accepted(address: str) -> None:
    url = url_for(address, "https")
    assert check_webhook_url(f"  {url} ", allow_private=False, resolve=literal) == url
    assert check_url(url, allow_private=False, resolve=literal) == url


def test_webhook_to_a_name_resolving_to_public_addresses_is_accepted() -> None:
    url = "https://hooks.example:8443/n8n?x=1"
    assert check_webhook_url(url, False, resolving_to("93.184.216.34", "2606:4700::6810:85e5")) == url


def test_allowing_private_urls_accepts_loopback_without_resolving() -> None:
    for url in ("http://127.0.0.1:9/hook", "http://[::1]/hook", "http://localhost:5678/webhook"):
        assert check_webhook_url(url, allow_private=True, resolve=never_resolve) == url
        assert check_url(url, allow_private=True, resolve=never_resolve) == url


@pytest.mark.parametrize("url", NOT_HTTP)
def test_webhook_with_a_non_http_scheme_is_refused(url: str) -> None:
    for allow_private in (False, True):
        with pytest.raises(InvalidInput, match="Field 'webhook_url' must be an http or https URL"):
            check_webhook_url(url, allow_private, resolve=never_resolve)


@pytest.mark.parametrize("url", NOT_HTTP)
def test_upload_with_a_non_http_scheme_is_refused(url: str) -> None:
    with pytest.raises(InvalidInput, match="Field 'url' must be an http or https URL"):
        check_url(url, allow_private=True, resolve=never_resolve)


def test_no_webhook_url_means_no_webhook() -> None:
    assert check_webhook_url(None, allow_private=False, resolve=never_resolve) is None
    assert check_webhook_url("  ", allow_private=False, resolve=never_resolve) is None


def test_webhook_to_a_name_that_does_not_resolve_is_refused_naming_the_field() -> None:
    def unknown(host: str, port: int) -> list[str]:
        raise InvalidInput(f"The host '{host}' of the URL cannot be resolved.")

    with pytest.raises(InvalidInput) as refused:
        check_webhook_url("http://nowhere.example/", allow_private=False, resolve=unknown)
    assert refused.value.message == "Field 'webhook_url': the host 'nowhere.example' of the URL cannot be resolved."
    with pytest.raises(InvalidInput, match="webhook_url"):
        check_webhook_url("http://nowhere.example/", allow_private=False, resolve=resolving_to())


def test_a_pinned_request_goes_to_the_checked_address_under_its_own_name() -> None:
    plain = pin("http://hooks.example:8080/hook?a=1", ["2606:4700::6810:85e5", "93.184.216.34"])
    assert plain.url == "http://93.184.216.34:8080/hook?a=1"
    assert plain.headers == {"Host": "hooks.example:8080"} and plain.extensions == {}
    tls = pin("https://hooks.example/hook", ["2606:4700::6810:85e5"])
    assert tls.url == "https://[2606:4700::6810:85e5]/hook"
    assert tls.headers == {"Host": "hooks.example"} and tls.extensions == {"sni_hostname": "hooks.example"}


def test_an_upload_connection_that_reached_loopback_is_refused() -> None:
    class Stream:
        def __init__(self, address: str) -> None:
            self.address = address

        def get_extra_info(self, name: str) -> tuple[str, int] | None:
            return (self.address, 443) if name == "server_addr" else None

    check_peer(httpx.Response(200, extensions={"network_stream": Stream("93.184.216.34")}))
    with pytest.raises(InvalidInput) as refused:
        check_peer(httpx.Response(200, extensions={"network_stream": Stream("127.0.0.1")}))
    assert refused.value.message == "The URL connected to a non-public address (127.0.0.1); refused."


@pytest.mark.usefixtures("no_sending")
def test_webhook_whose_name_rebinds_to_loopback_is_not_sent() -> None:
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])

    def resolve(host: str, port: int) -> list[str]:
        return next(answers)

    url = check_webhook_url("https://hooks.example/hook", allow_private=False, resolve=resolve)
    jobs = RecordingJobs()
    job = Job(id="j1", kind="tts", webhook_url=url)
    asyncio.run(WebhookSender(jobs, "secret", allow_private=False, resolve=resolve)(job))
    [(job_id, fields)] = jobs.updates
    outcome = fields["webhook"]
    assert job_id == "j1" and outcome["delivered"] is False and outcome["attempts"] == 0
    assert "not allowed" in outcome["error"] and "127.0.0.1" in outcome["error"]


@pytest.mark.usefixtures("no_sending")
def test_webhook_to_a_name_that_no_longer_resolves_is_not_sent() -> None:
    jobs = RecordingJobs()
    job = Job(id="j2", kind="video", webhook_url="https://gone.example/hook")
    asyncio.run(WebhookSender(jobs, None, allow_private=False, resolve=resolving_to())(job))
    outcome = jobs.updates[0][1]["webhook"]
    assert outcome["delivered"] is False and "cannot be resolved" in outcome["error"]
