"""How every job endpoint answers: 202 with the file id, or, with `wait=true`, the finished file."""

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from app.routes.responses import file_urls, job_accepted, stored_file
from app.services.jobs import FAILED, READY
from app.services.runner import JobRunner
from app.services.webhooks import check_webhook_url


async def submit_job(
    request: Request,
    kind: str,
    params: dict,
    name: str | None,
    webhook_url: str | None,
    wait: bool,
) -> Response:
    """Admit (or raise Busy), create the job, and answer at once or when it ends (WAIT_TIMEOUT_S)."""
    runner: JobRunner = request.app.state.runner
    webhook_url = check_webhook_url(webhook_url)
    ticket = request.app.state.admission.admit(kind)
    params = {**params, "base_url": str(request.base_url).rstrip("/")}
    job = runner.submit(kind, params, ticket, name=name, webhook_url=webhook_url)
    if not wait:
        return job_accepted(request, job)
    final = await runner.wait(job.id, request.app.state.settings.wait_timeout_s)
    if final is not None and final.status == READY:
        return stored_file(final, runner.storage, headers={"X-File-Id": final.id})
    if final is not None and final.status == FAILED:
        return JSONResponse({"error": final.error, "file_id": final.id, "status": FAILED}, status_code=422)
    body = {"file_id": job.id, "status": final.status if final else job.status, "kind": kind}
    body.update(file_urls(request, job.id))
    body["message"] = "The job is still running; poll status_url."
    return JSONResponse(body, status_code=202)
