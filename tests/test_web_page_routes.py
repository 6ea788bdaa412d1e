"""The web page and the API docs over HTTP: public pages, the key still guarding the API, assets from the app."""

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.services.child_process import ChildProcess
from app.tools.catalog import all_tools
from tests.conftest import ROOT, running, torch_test_settings
from tests.support.local_server import RunningServer
from tests.support.waits import WAIT_S

KEY = "web-routes-key"
OUTSIDE_URL = re.compile(r"""(?:src|href)=["']?(?:https?:)?//""")
ANY_URL = re.compile(r"https?://(?!www\.w3\.org/2000/svg)")
"""A URL to anywhere (an SVG's XML namespace is a name, never fetched)."""


@pytest.fixture(scope="module")
def keyed_server(
    tmp_path_factory: pytest.TempPathFactory, test_model_dir: Path, test_engine: ChildProcess
) -> Iterator[RunningServer]:
    settings = torch_test_settings(tmp_path_factory.mktemp("web"), test_model_dir, api_key=KEY)
    server = RunningServer(settings, running(test_engine))
    yield server
    server.stop()


@pytest.mark.parametrize("path", ["/", "/files"])
def test_the_page_is_public_while_the_api_behind_it_needs_the_key(keyed_server: RunningServer, path: str) -> None:
    page = keyed_server.client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script type="module" src="/web/app.js">' in page.text
    assert OUTSIDE_URL.search(page.text) is None
    assert keyed_server.client.get("/api/v1/system/status").status_code == 401


def test_every_file_the_page_loads_is_served_by_the_app(keyed_server: RunningServer) -> None:
    page = keyed_server.client.get("/").text
    scripts = {"app.js", "api.js", "jobs.js", "ui.js", "speak.js", "video.js", "tools.js", "files.js", "server.js"}
    linked = set(re.findall(r'(?:src|href)="/web/([^"]+)"', page)) | scripts
    for name in sorted(linked):
        asset = keyed_server.client.get(f"/web/{name}")
        assert asset.status_code == 200, name
        assert OUTSIDE_URL.search(asset.text) is None, name
        assert ANY_URL.search(asset.text) is None, name
    assert keyed_server.client.get("/web/app.js").headers["content-type"] == "text/javascript; charset=utf-8"


@pytest.mark.parametrize("name", ["missing.js", "..%2F..%2Fmain.py", "%2e%2e%2Froutes%2Fweb.py", "index.html.bak"])
def test_a_page_file_outside_the_set_is_not_found(keyed_server: RunningServer, name: str) -> None:
    response = keyed_server.client.get(f"/web/{name}")
    assert response.status_code == 404
    assert "error" in response.json()


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_docs_load_only_what_the_app_serves(keyed_server: RunningServer, path: str) -> None:
    html = keyed_server.client.get(path)
    assert html.status_code == 200
    assert OUTSIDE_URL.search(html.text) is None
    assets = re.findall(r"""["'](/docs/assets/[^"']+)["']""", html.text)
    assert assets
    for asset in assets:
        response = keyed_server.client.get(asset)
        assert response.status_code == 200, asset
        assert b"cdn.redoc.ly" not in response.content
    assert keyed_server.client.get("/openapi.json").json()["components"]["securitySchemes"].keys() == {
        "APIKeyHeader",
        "HTTPBearer",
    }


def test_the_tools_list_offers_every_job_route_with_its_form_and_a_folder_for_its_result(
    keyed_server: RunningServer,
) -> None:
    assert keyed_server.client.get("/api/v1/media/tools").status_code == 401
    listed = keyed_server.client.get("/api/v1/media/tools", headers={"X-API-Key": KEY}).json()["tools"]
    by_path = {tool["path"]: tool for tool in listed}
    expected = {tool.path: tool.kind for tool in all_tools()} | {
        "/api/v1/media/audio-tools/tts/kokoro": "tts",
        "/api/v1/media/video-tools/generate/tts-captioned-video": "video",
        "/api/v1/media/video-tools/merge": "video",
        "/api/v1/media/video-tools/generate/short": "video",
        "/api/v1/media/audio-tools/transcribe": "stt",
        "/api/v1/media/audio-tools/align-script": "stt",
    }
    assert {path: tool["kind"] for path, tool in by_path.items()} == expected
    for tool in listed:
        fields = {field["name"]: field for field in tool["fields"]}
        assert fields["folder"]["common"] is True and fields["folder"]["type"] == "string", tool["path"]
        assert tool["summary"] and tool["tag"], tool["path"]
    convert = {field["name"]: field for field in by_path["/api/v1/media/audio-tools/convert"]["fields"]}
    assert convert["file_id"] == {**convert["file_id"], "type": "string", "required": True, "common": False}
    assert (convert["format"]["default"], "wav" in convert["format"]["choices"]) == ("mp3", True)
    assert (convert["sample_rate"]["minimum"], convert["sample_rate"]["maximum"]) == (8000, 192000)
    pcm = {field["name"]: field for field in by_path["/api/v1/utils/convert/pcm/wav"]["fields"]}
    assert pcm["file"]["type"] == "file" and pcm["sample_rate"]["default"] == 24000


@pytest.mark.slow  # a second pytest run
def test_without_chromium_only_the_browser_tests_are_skipped_and_the_reason_says_how_to_install_it() -> None:
    command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests/browser"]
    environment = {**os.environ, "CHROMIUM_BINARY": "/nowhere/chromium"}
    run = subprocess.run(
        [*command, "tests/unit/test_folders.py"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    skipped = [line for line in run.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skipped, run.stdout
    for line in skipped:
        assert "tests/browser/" in line and "apt-get install -y chromium chromium-driver" in line, line
    passed = re.search(r"(\d+) passed", run.stdout)
    assert passed and int(passed.group(1)) > 0, "the other tests ran"
