"""Webhook delivery when a job ends: JSON POST, 3 tries with backoff, optional HMAC-SHA256 signature."""

import asyncio
import hashlib
import hmac
import json
import logging
import time
from urllib.parse import urlsplit

import httpx

from app.errors import InvalidInput
from app.services.jobs import Job, JobStore

log = logging.getLogger("app.webhooks")

TRIES = 3


def check_webhook_url(url: str | None) -> str | None:
    if url is None or not url.strip():
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput("Field 'webhook_url' must be an http(s) URL.")
    return url.strip()


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    """Called by the runner when a job ends; never fails the job, records the outcome on it."""

    def __init__(self, store: JobStore, secret: str | None, backoff_s: float = 1.0) -> None:
        self.store = store
        self.secret = secret
        self.backoff_s = backoff_s

    @staticmethod
    def payload(job: Job) -> dict:
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
        body = json.dumps(self.payload(job)).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "media-api-webhook"}
        if self.secret:
            headers["X-Signature"] = sign(body, self.secret)
        outcome: dict = {"url": job.webhook_url, "delivered": False, "attempts": 0}
        async with httpx.AsyncClient(timeout=10, follow_redirects=False) as client:
            for attempt in range(1, TRIES + 1):
                outcome["attempts"] = attempt
                try:
                    response = await client.post(job.webhook_url, content=body, headers=headers)
                    outcome["status_code"] = response.status_code
                    if response.status_code < 300:
                        outcome["delivered"] = True
                        break
                    outcome["error"] = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    outcome["error"] = f"{type(exc).__name__}: {exc}"
                if attempt < TRIES:
                    await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
        outcome["at"] = time.time()
        self.store.update(job.id, webhook=outcome)
        log.info("webhook for job %s %s: %s after %d tries", job.id, job.kind, outcome.get("error", "ok"), attempt)
