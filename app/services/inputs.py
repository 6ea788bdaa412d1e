"""Files named by id in a request: found, ready and of the media kind the field takes (no HTTP here)."""

from dataclasses import dataclass

from app.errors import DomainError, InvalidInput, NotFound
from app.services.files import Files, StoredFile
from app.services.jobs import Job, Jobs, JobStatus
from app.services.storage import check_file_id


class NotReady(DomainError):
    status_code = 409


@dataclass(frozen=True)
class Record:
    """What an id names: a job (with its output file once ready), or a file that no job made (an upload)."""

    id: str
    job: Job | None
    file: StoredFile | None

    @property
    def status(self) -> JobStatus:
        return self.job.status if self.job else JobStatus.READY

    @property
    def error(self) -> str | None:
        return self.job.error if self.job else None


def find_record(jobs: Jobs, files: Files, file_id: str) -> Record:
    """The job and/or file of an id; NotFound when neither exists."""
    check_file_id(file_id)
    job = jobs.get(file_id)
    if job is None:
        stored = files.get(file_id)
        if stored is None:
            raise NotFound(f"No file with id '{file_id}'.")
        return Record(file_id, None, stored)
    return Record(file_id, job, files.get(job.output_file_id) if job.output_file_id else None)


def ready_input(jobs: Jobs, files: Files, file_id: str, field: str, kinds: tuple[str, ...]) -> StoredFile:
    """A stored, ready file of one of `kinds`: 404 naming the id, 409 when not ready, 400 for the wrong kind."""
    file_id = file_id.strip()
    try:
        record = find_record(jobs, files, file_id)
    except NotFound as exc:
        raise NotFound(f"Field '{field}': no file with id '{file_id[:64]}'.") from exc
    stored = record.file
    if stored is None:
        raise NotReady(f"Field '{field}': file '{file_id}' is not ready (status: {record.status}).")
    files.path(stored)
    kind = stored.media_kind
    if kind not in kinds:
        wanted = " or ".join(kinds)
        raise InvalidInput(f"Field '{field}': file '{file_id}' is {kind or 'not media'}; expected {wanted}.")
    if stored.filename.endswith(".pcm"):
        raise InvalidInput(f"Field '{field}': file '{file_id}' is raw PCM without a header; use wav or another format.")
    return stored
