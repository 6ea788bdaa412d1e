"""Builds the FastAPI app; its lifespan opens the composition root and keeps it on `app.state.services`."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from app.admission_gate import AdmissionGate, admission_kinds
from app.agent_tools.server import mount_mcp
from app.composition import open_services
from app.config import Settings, load_settings
from app.error_handlers import install_error_handlers
from app.logging_setup import configure_logging
from app.request_log import RequestLogMiddleware
from app.routes import alignment as script_alignment
from app.routes import docs as api_docs
from app.routes import events as job_events
from app.routes import files as file_list
from app.routes import folders, health, jobs, openai_speech, short, storage, system, tts, upload, video
from app.routes import openai_transcription as openai_speech_in
from app.routes import tool_list as job_tool_list
from app.routes import transcription as speech_to_text
from app.routes import web as web_page
from app.routes.responses import ERROR_RESPONSES
from app.security import require_api_key
from app.services.child_process import ChildProcess
from app.tools.audio_routes import router as audio_tool_routes
from app.tools.catalog import all_tools
from app.tools.routes import tool_router
from app.tools.video_routes import router as video_tool_routes


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with open_services(app.state.settings, app.state.engine) as services, app.state.mcp_sessions.run():
        app.state.services = services
        app.openapi()  # builds every route's handler now rather than on its first request, in the middle of a burst
        gc.collect()
        gc.freeze()  # what startup built lives as long as the app: no full collection walks it again mid-request
        try:
            yield
        finally:
            del app.state.services


def create_app(settings: Settings | None = None, engine: ChildProcess | None = None) -> FastAPI:
    """The app for `settings`; `engine`: an already started speech engine process to use (and not close)."""
    settings = settings or load_settings()
    configure_logging(settings.log_format, settings.log_level)
    app = FastAPI(
        title="Media API",
        description="Kokoro text to speech and captioned videos for automation tools, with admission control.",
        lifespan=lifespan,
        docs_url=None,  # served by app.routes.docs with local assets
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    install_error_handlers(app)
    protected = (
        tts.router,
        file_list.router,  # before storage: /list and /stats are not file ids
        storage.router,
        upload.router,
        video.router,
        short.router,
        jobs.router,
        job_events.router,
        folders.router,
        openai_speech.router,
        openai_speech_in.router,
        system.router,
        tool_router(all_tools()),
        audio_tool_routes,
        video_tool_routes,
        speech_to_text.router,
        script_alignment.router,
        job_tool_list.router,
    )
    app.state.job_kinds = admission_kinds(protected)  # the Tools list reads it
    app.add_middleware(AdmissionGate, kinds=app.state.job_kinds)
    app.add_middleware(RequestLogMiddleware)
    app.include_router(health.router)
    app.include_router(api_docs.router)
    app.include_router(web_page.router)
    for router in protected:
        app.include_router(router, dependencies=[Depends(require_api_key)], responses=ERROR_RESPONSES)
    mount_mcp(app)  # /mcp: every job route above as an MCP tool, behind the same key
    return app
