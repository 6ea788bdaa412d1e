"""The OpenAI-compatible transcription on a web node: the upload put in the bucket, an `stt` job on a worker
that writes the answer's body, waited for and given back; the upload, the job and its file removed after."""

import asyncio
from contextlib import suppress
from pathlib import Path

from app.cluster.admission import ClusterAdmission
from app.cluster.web import ClusterRunner, answer_inline
from app.services.files import Files
from app.services.inline_transcripts import InlineTranscription
from app.services.storage import new_file_id
from app.services.stt.job import TranscribeParams
from app.services.uploads import DetectedMedia


class ClusterTranscripts:
    """`TranscriptAnswers` in cluster mode."""

    def __init__(self, admission: ClusterAdmission, runner: ClusterRunner, time_limit_s: float) -> None:
        self.admission = admission
        self.runner = runner
        self.time_limit_s = time_limit_s

    async def answer(self, audio: Path, media: DetectedMedia, request: InlineTranscription) -> str:
        ticket = self.admission.admit("stt")
        files = self.runner.files
        try:
            stored = await asyncio.to_thread(files.add, new_file_id(), audio, media.ext, None, media.info)
        except BaseException:
            self.admission.release(ticket)
            raise
        try:
            params = TranscribeParams(
                audio_id=stored.id,
                language=request.language,
                task=request.task,
                hints=request.hints,
                reply=request.reply,
            )
            body = await answer_inline(self.runner, "stt", params.model_dump(mode="json"), ticket, self.time_limit_s)
        finally:
            await asyncio.to_thread(_delete_quietly, files, stored.id)
        return body.decode("utf-8")


def _delete_quietly(files: Files, file_id: str) -> None:
    with suppress(Exception):
        files.delete(file_id)
