"""What a tool is: a form checked before admission, typed params stored with the job, and one ffmpeg invocation.

Routes, admission, the runner, progress, threads, atomic storage, `/info` facts, webhooks and `wait` come from
the shared machinery (`app/tools/routes.py`, `app/services/runner.py`), not from each tool.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from app.config import Settings
from app.services.ffmpeg import Ffmpeg, MediaInfo, media_facts
from app.services.files import Files, StoredFile
from app.services.inputs import ready_input
from app.services.job_fields import JobFields
from app.services.jobs import Jobs
from app.services.runner import Handler, JobContext, JobOutput
from app.services.storage import FileStorage
from app.services.stt.service import SttService


class Inputs:
    """The route side: input files by id, checked to be ready and of the right media kind, before admission."""

    def __init__(
        self, jobs: Jobs, files: Files, ffmpeg: Ffmpeg, settings: Settings, stt: SttService | None = None
    ) -> None:
        self._jobs = jobs
        self._files = files
        self._ffmpeg = ffmpeg
        self.settings = settings
        self.stt = stt

    def ready(self, file_id: str, field: str, kinds: tuple[str, ...]) -> StoredFile:
        """404 naming the field for an unknown id, 409 when not ready, 400 for the wrong media kind."""
        return ready_input(self._jobs, self._files, file_id, field, kinds)

    def path(self, stored: StoredFile) -> Path:
        return self._files.path(stored)

    @property
    def storage(self) -> FileStorage:
        """Where a tool may keep an uploaded input in scratch until its job takes it."""
        return self._files.storage

    def probe(self, stored: StoredFile) -> MediaInfo:
        return self._ffmpeg.probe(self._files.path(stored))


@dataclass(frozen=True)
class Invocation:
    """One ffmpeg process: the arguments between the shared options and the output path, the output's
    extension, the output's expected duration (for progress) and facts known before it runs."""

    args: list[str]
    ext: str
    duration_s: float | None = None
    facts: dict[str, Any] = field(default_factory=dict)


class ToolRun:
    """The job side: what a tool's invocation may use while its job runs in a heavy thread."""

    def __init__(self, context: JobContext, ffmpeg: Ffmpeg, files: Files, stt: SttService | None = None) -> None:
        self.context = context
        self.ffmpeg = ffmpeg
        self._files = files
        self.work_dir = context.work_dir
        self.stt = stt

    def input(self, file_id: str) -> Path:
        """The path of an input file, looked up again by id: a job never trusts a path from its record."""
        return self._files.input_path(file_id)

    def probe(self, path: Path) -> MediaInfo:
        return self.ffmpeg.probe(path)

    @property
    def storage(self) -> FileStorage:
        return self._files.storage

    def threads(self) -> int:
        return self.context.threads()

    def progress(self, start: float = 0.0, stop: float = 99.0) -> Callable[[float], None]:
        """ffmpeg's 0..1 progress mapped onto [start, stop] percent of the job."""
        return lambda fraction: self.context.progress(start + (stop - start) * fraction)

    def ffmpeg_run(self, invocation: Invocation, out: Path, start: float = 0.0, stop: float = 99.0) -> None:
        """Run one invocation into `out` with this job's threads, reporting progress on [start, stop]."""
        self.ffmpeg.run([*invocation.args, str(out)], invocation.duration_s, self.threads(), self.progress(start, stop))


class ToolParams(BaseModel):
    """A tool's validated inputs as stored with its job; `operation` names the tool's handler.

    Most tools define only `invocation`; a tool that needs more than one ffmpeg process overrides `execute`."""

    operation: str

    def invocation(self, run: ToolRun) -> Invocation:
        raise NotImplementedError(f"{type(self).__name__} defines neither invocation nor execute")

    def execute(self, run: ToolRun) -> JobOutput:
        invocation = self.invocation(run)
        out = run.work_dir / f"output.{invocation.ext}"
        run.ffmpeg_run(invocation, out)
        return JobOutput(out, invocation.ext, {**media_facts(out, run.ffmpeg), **invocation.facts})

    def abandon(self, storage: FileStorage) -> None:
        """Give back what the form kept for a job that will not run (refused, or an earlier job reused): nothing
        for most tools."""


class ToolForm(JobFields):
    """A tool's form: its own fields plus name, webhook_url, wait and the other job fields."""

    def params(self, inputs: Inputs) -> ToolParams:
        """Check what the field types cannot (ids, ranges against the inputs) and build the params."""
        raise NotImplementedError


@dataclass(frozen=True)
class Tool:
    """One entry of the toolbox table."""

    path: str
    kind: str
    form: type[ToolForm]
    params: type[ToolParams]
    summary: str
    tag: str

    @property
    def operation(self) -> str:
        default = self.params.model_fields["operation"].default
        assert isinstance(default, str), f"{self.params.__name__}.operation needs a Literal default"
        return default


def tool_handlers(tools: list[Tool], ffmpeg: Ffmpeg, files: Files, stt: SttService | None = None) -> dict[str, Handler]:
    """One runner handler per tool, registered under its operation name; `stt` for the tools that hear speech."""

    def handler(tool: Tool) -> Handler:
        def run(job: Any, context: JobContext) -> JobOutput:
            return tool.params.model_validate(job.params).execute(ToolRun(context, ffmpeg, files, stt))

        return run

    return {tool.operation: handler(tool) for tool in tools}
