"""Input files named by id in a request: found, ready and of the media kind the field takes."""

from app.errors import InvalidInput, NotFound
from app.routes.responses import NotReady, find_record
from app.services.files import Files, StoredFile
from app.services.jobs import Jobs


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
