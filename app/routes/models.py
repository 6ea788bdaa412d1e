"""The typed contract of the API: response bodies of every route (OpenAPI documents each one)."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.resources import ResourcesInfo
from app.services.jobs import JobStatus
from app.services.stt.service import SttInfo
from app.services.tts.service import EngineInfo, TtsHealth


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
    error: str | None = Field(
        None, description="With a 504: the same sentence, with the file_id, for clients that show only `error`."
    )


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
    folder: str | None = None


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
    installed: bool = Field(description="False: a Kokoro v1.0 voice fetched on first use (when fetching works).")


class Voices(BaseModel):
    voices: list[Voice]
    default_voice: str | None
    fetch_on_first_use: bool = Field(description="Whether voices that are not installed are fetched when named.")
    get_more: str = Field(description="How voices that are not installed can be had here.")


class Language(BaseModel):
    code: str
    name: str
    available: bool
    reason: str | None
    loaded: bool = Field(False, description="Its G2P is loaded: each language's is loaded on its first use.")


class Languages(BaseModel):
    languages: list[Language]


class Fonts(BaseModel):
    fonts: list[str]


class ClusterHealth(BaseModel):
    """Cluster mode: the live workers, or why no job can start."""

    workers: int
    reason: str | None = None
    bucket: str | None = Field(None, description="Why the file storage cannot be used; null when it can.")


class Health(BaseModel):
    status: str
    tts: TtsHealth
    stt: SttInfo
    resources: ResourcesInfo = Field(description="CPU and memory as this process sees them, and from where.")
    models_resident_mb: dict[str, float | None] = Field(
        description="What each model's process holds now (RSS, MB): tts_engine, whisper; null when not loaded."
    )
    cluster: ClusterHealth | None = None


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
    resources: ResourcesInfo = Field(description="CPU and memory as this process sees them, and from where.")
    load_average: list[float] | None = Field(description="1, 5 and 15 minutes; None where the system does not say.")
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


class StoredItem(BaseModel):
    """A stored file (status ready), or a job that has no file yet (queued, processing or failed): then
    `file_id` is the id its file will have, and `filename`, `media_type`, `content_type`, `size`, `duration`
    and `download_url` are null (so a `media_type` filter leaves such jobs out)."""

    file_id: str
    name: str | None
    filename: str | None = Field(description="What a download is named: <name>.<ext>, else the stored name.")
    media_type: str | None = Field(description="image, video or audio")
    content_type: str | None = Field(description="The MIME type, e.g. audio/wav")
    size: int | None = Field(description="Bytes")
    duration: float | None = Field(description="Seconds, for audio and video")
    folder: str | None = Field(description="e.g. reports/2024; null: the top level")
    status: JobStatus
    progress: int = Field(ge=0, le=100)
    error: str | None = Field(description="Why the job failed; null otherwise")
    kind: str = Field(description="upload, or the kind of the job that made it (tts, video, audio...)")
    created_at: float
    download_url: str | None


class StorageList(BaseModel):
    """`GET /api/v1/media/storage`: one page, newest first, and how many match in all."""

    data: list[StoredItem]
    total: int
    limit: int
    offset: int


class ListedItem(StoredItem):
    media_id: str = Field(description="The same as file_id (the older servers' name).")


class LegacyStorageList(BaseModel):
    """`GET /api/v1/media/storage/list`: the same items under the older servers' shape."""

    files: list[ListedItem]
    total: int
    media_type_filter: str | None


class Tally(BaseModel):
    files: int
    bytes: int


class MediaTypeTally(Tally):
    media_type: str


class FolderTally(Tally):
    folder: str | None = Field(description="null: the top level")


class DiskSpace(BaseModel):
    total_bytes: int
    free_bytes: int


class StorageStats(BaseModel):
    """Stored files and bytes in all, by media type and by folder (direct contents; empty folders too), jobs by
    status, and the disk that holds the storage."""

    files: int
    bytes: int
    by_media_type: list[MediaTypeTally]
    by_folder: list[FolderTally]
    jobs: dict[str, int]
    disk: DiskSpace


class FolderInfo(BaseModel):
    path: str = Field(description="e.g. reports/2024")
    name: str = Field(description="The last part of the path")
    parent_folder: str | None = Field(description="null: the top level")
    file_count: int = Field(description="Files directly in it")
    bytes: int = Field(description="Bytes of the files directly in it")
    folder_count: int = Field(description="Folders directly in it")
    created_at: float


class FolderList(BaseModel):
    folders: list[FolderInfo]
    parent_folder: str | None
    recursive: bool


class CreatedFolder(FolderInfo):
    created: bool = Field(description="False when it already existed (answered 200 instead of 201).")


class DeletedFolder(BaseModel):
    folder: str
    deleted: bool
    files_deleted: int
    jobs_deleted: int = Field(description="Failed jobs filed in it (no file), removed with it")
    folders_deleted: int = Field(description="The folder and the folders below it")


class FolderContents(BaseModel):
    """A folder's subfolders and one page of its files (and file-less jobs), newest first."""

    folder: FolderInfo
    folders: list[FolderInfo]
    files: list[StoredItem]
    total: int
    limit: int
    offset: int
