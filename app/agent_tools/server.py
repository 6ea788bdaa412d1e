"""The MCP server at `/mcp` (Streamable HTTP, stateless, JSON answers) behind the app's API key."""

from collections.abc import Mapping
from typing import Any

import mcp_types as types
from fastapi import FastAPI
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from app.agent_tools.answers import text_result
from app.agent_tools.calls import Caller, call_job_tool
from app.agent_tools.catalog import JobTool, job_tool_catalog
from app.agent_tools.file_tools import FILE_TOOLS
from app.security import scope_key_problem

PATH = "/mcp"
INSTRUCTIONS = (
    "Tools of a media server: text to speech, transcription, captioned videos, and audio, video and image tools. "
    "Files are passed by file_id: store one with upload_from_url, find one with list_files, or use the file_id an "
    "earlier tool answered with. Each job tool waits for its job for a while, then answers with the result's "
    "download URL and facts; a job still running answers with its file_id: call get_job with it."
)


class AgentTools:
    """The tools: one per job route (generated from the app's routes on first use) and the file tools."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._catalog: dict[str, JobTool] | None = None

    def catalog(self) -> dict[str, JobTool]:
        if self._catalog is None:
            self._catalog = job_tool_catalog(self.app.openapi(), self.app.state.job_kinds)
        return self._catalog

    def tools(self) -> list[types.Tool]:
        generated = [
            types.Tool(
                name=tool.name,
                description=tool.description,
                input_schema=tool.input_schema,
                meta={"path": tool.path, "kind": tool.kind},
            )
            for tool in self.catalog().values()
        ]
        made = [
            types.Tool(name=name, description=description, input_schema=schema)
            for name, (_, description, schema) in FILE_TOOLS.items()
        ]
        return generated + made

    async def list_tools(self, ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self.tools())

    async def call_tool(self, ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        request = ctx.request
        if not isinstance(request, Request):
            return text_result("This server's tools are served over HTTP only.", True)
        caller = Caller.of(self.app, request)
        arguments: Mapping[str, Any] = params.arguments or {}
        tool = self.catalog().get(params.name)
        if tool is not None:
            return await call_job_tool(caller, tool, arguments)
        if params.name in FILE_TOOLS:
            return await FILE_TOOLS[params.name][0](caller, arguments)
        return text_result(f"No tool named '{params.name}'; list the tools to see their names.", True)


class KeyRequired:
    """ASGI wrapper: with API_KEY set, a request without the key (X-API-Key or Bearer) gets 401."""

    def __init__(self, app: ASGIApp, server: FastAPI) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = scope_key_problem(scope, self.server.state.settings.api_key)
        if scope["type"] == "http" and problem is not None:
            refused = JSONResponse({"error": problem}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
            await refused(scope, receive, send)
            return
        await self.app(scope, receive, send)


def mount_mcp(app: FastAPI) -> None:
    """Serve the tools at `/mcp`; the app's lifespan runs `app.state.mcp_sessions`."""
    tools = AgentTools(app)
    server: Server[Any] = Server(
        "media-api",
        version="1",
        instructions=INSTRUCTIONS,
        on_list_tools=tools.list_tools,
        on_call_tool=tools.call_tool,
    )
    sessions = StreamableHTTPSessionManager(server, stateless=True, json_response=True)
    app.state.mcp_sessions = sessions
    app.router.routes.append(Route(PATH, KeyRequired(StreamableHTTPASGIApp(sessions), app)))
