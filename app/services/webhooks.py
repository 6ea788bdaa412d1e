"""Webhook delivery when a job ends: JSON POST, 3 tries with backoff, optional HMAC-SHA256 signature.

Webhook URLs follow the outbound URL policy (app.services.url_policy) when accepted and again at delivery.
"""

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx

from app.errors import InvalidInput
from app.services.jobs import Job, Jobs
from app.services.url_policy import AddressNotAllowed, Pinned, Resolver, check_url, pin, public_addresses, resolve_host

log = logging.getLogger("app.webhooks")

TRIES = 3
WEBHOOK_FIELD = "webhook_url"


def check_webhook_url(url: str | None, allow_private: bool, resolve: Resolver = resolve_host) -> str | None:
    """The stripped webhook URL, None when absent; InvalidInput when the URL policy refuses it."""
    if url is None or not url.strip():
        return None
    return check_url(url, allow_private, resolve, field=WEBHOOK_FIELD)


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    """Called by the runner when a job ends; never fails the job, records the outcome on it."""

    def __init__(
        self,
        jobs: Jobs,
        secret: str | None,
        allow_private: bool,
        backoff_s: float = 1.0,
        resolve: Resolver = resolve_host,
    ) -> None:
        self.jobs = jobs
        self.secret = secret
        self.allow_private = allow_private
        self.backoff_s = backoff_s
        self.resolve = resolve

    @staticmethod
    def payload(job: Job) -> dict[str, Any]:
        base = job.params.get("base_url", "")
        return {
            "file_id": job.id,
            "status": job.status,
            "kind": job.kind,
            "download_url": f"{base}/api/v1/media/storage/{job.id}" if job.status == "ready" else None,
            "error": job.error,
        }

    async def __call__(self, job: Job) -> None:
        if not job.webhook_url:
            return
        outcome: dict[str, Any] = {"url": job.webhook_url, "delivered": False, "attempts": 0}
        try:
            target = await self.target(job.webhook_url)
        except AddressNotAllowed as exc:
            outcome["error"] = f"The webhook address is not allowed; nothing was sent. {exc.message}"
        except InvalidInput as exc:
            outcome["error"] = exc.message
        else:
            await self._deliver(job, target, outcome)
        outcome["at"] = time.time()
        self.jobs.update(job.id, webhook=outcome)
        log.info(
            "webhook for job %s %s: %s after %d tries",
            job.id,
            job.kind,
            outcome.get("error", "ok"),
            outcome["attempts"],
        )

    async def target(self, url: str) -> Pinned:
        """Where to POST: the URL as is when private targets are allowed, else a public address of it, pinned."""
        if self.allow_private:
            return Pinned(url)
        addresses = await asyncio.to_thread(public_addresses, url, self.resolve, WEBHOOK_FIELD)
        return pin(url, addresses)

    async def _deliver(self, job: Job, target: Pinned, outcome: dict[str, Any]) -> None:
        """POST the payload up to TRIES times; redirects are not followed (a 3xx is not delivered)."""
        body = json.dumps(self.payload(job)).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "media-api-webhook", **target.headers}
        if self.secret:
            headers["X-Signature"] = sign(body, self.secret)
        async with httpx.AsyncClient(timeout=10, follow_redirects=False) as client:
            for attempt in range(1, TRIES + 1):
                outcome["attempts"] = attempt
                try:
                    response = await client.post(
                        target.url, content=body, headers=headers, extensions=target.extensions
                    )
                    outcome["status_code"] = response.status_code
                    if response.status_code < 300:
                        outcome["delivered"] = True
                        return
                    outcome["error"] = _http_error(response.status_code)
                except httpx.HTTPError as exc:
                    outcome["error"] = f"{type(exc).__name__}: {exc}"
                if attempt < TRIES:
                    await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))


def _http_error(status_code: int) -> str:
    if 300 <= status_code < 400:
        return f"HTTP {status_code} (redirects are not followed)"
    return f"HTTP {status_code}"
