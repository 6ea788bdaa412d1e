"""The typed contract of the API: response bodies of every route (OpenAPI documents each one)."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.services.jobs import JobStatus
from app.services.tts.service import EngineInfo


class ErrorBody(BaseModel):
    error: str


class FileUrls(BaseModel):
    status_url: str = Field(description="Poll this for the job's status.")
    download_url: str = Field(description="The file, once ready.")


class AcceptedJob(FileUrls):
    """202: the job is queued or running; its `file_id` is also the id of the file it will make."""

    file_id: str
    status: JobStatus
    kind: str
    reused: bool = Field(False, description="True when an identical earlier request's job was reused.")
    message: str | None = Field(None, description="With wait=true, when the wait ended before the job did.")


class JobStatusBody(BaseModel):
    file_id: str
    kind: str
    status: JobStatus
    progress: int = Field(ge=0, le=100)
    name: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    error: str | None = Field(None, description="Why the job failed; present only then.")


class NotFoundStatus(BaseModel):
    file_id: str
    status: str = Field(description="not_found")
    error: str


class FailedJob(BaseModel):
    """With wait=true: the job failed."""

    error: str
    file_id: str
    status: JobStatus


class FileInfo(JobStatusBody):
    """The status, and for a ready file its size, media type and facts (duration, size, words...)."""

    model_config = ConfigDict(extra="allow")

    size: int | None = None
    media_type: str | None = None


class UploadedFile(FileUrls):
    """201: the upload is stored and ready; its facts follow (duration, width, codecs...)."""

    model_config = ConfigDict(extra="allow")

    file_id: str
    status: JobStatus
    kind: str
    name: str | None
    size: int
    content_type: str


class DeletedFile(BaseModel):
    file_id: str
    deleted: bool
    cancelled: bool = Field(description="True when the job was still queued and will not run.")


class JobList(BaseModel):
    jobs: list[JobStatusBody]
    limit: int
    offset: int


class Voice(BaseModel):
    name: str
    lang_code: str | None
    language: str | None


class Voices(BaseModel):
    voices: list[Voice]
    default_voice: str | None


class Language(BaseModel):
    code: str
    name: str
    available: bool
    reason: str | None


class Languages(BaseModel):
    languages: list[Language]


class Fonts(BaseModel):
    fonts: list[str]


class Health(BaseModel):
    status: str
    tts: EngineInfo


class SystemStatus(BaseModel):
    """CPU, memory, load, budget, admission per kind, recent jobs, the model and the engine process."""

    model_config = ConfigDict(extra="allow")

    time: float
    uptime_s: float
    pid: int
    cores: dict[str, int]
    budget: dict[str, Any]
    cpu: dict[str, Any]
    memory: dict[str, float]
    load_average: list[float]
    admission: dict[str, Any]
    recent_jobs: list[dict[str, Any]]
    model: EngineInfo
    engine_process: dict[str, Any] | None


class OpenAiModel(BaseModel):
    id: str
    object: str
    created: int
    owned_by: str


class OpenAiModels(BaseModel):
    object: str
    data: list[OpenAiModel]


class OpenAiVoices(BaseModel):
    voices: list[str]
    default_voice: str | None
