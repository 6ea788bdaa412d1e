"""The suite's two tiers (hooks that tests/conftest.py imports).

`make test-fast` runs the unit and contract tier: no model loaded, no server process started. Every other test
carries `slow` (it starts a server or an engine, or loads a model), `cluster` (tests/cluster: Redis, S3, nodes
and workers as processes) or `browser` (tests/browser: headless Chromium). The markers are set here from a
test's folder and from the fixtures it uses, so a new test lands in its tier by itself; a test that starts a
server some other way fails in the fast tier, naming the fix."""

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
FOLDER_MARKS = {"cluster": "cluster", "browser": "browser"}
"""Folders under tests/ whose every test gets the marker (and `slow`: both start processes)."""
SLOW_FIXTURES = frozenset(
    {"test_model_dir", "test_engine", "server_factory", "torch_server", "onnx_server", "slow_tier"}
)
"""A test that uses one of these (itself or through another fixture) is in the slow tier. A fixture that starts
a server or loads a model some other way requests `slow_tier` (tests/conftest.py)."""

_fast_test: str | None = None
"""The node id of the test running now when it is in the fast tier; None otherwise."""


def folder_mark(item: pytest.Item) -> str | None:
    """`cluster` or `browser` for a test in that folder under tests/, else None."""
    parts = item.path.resolve().relative_to(TESTS).parts if TESTS in item.path.resolve().parents else ()
    return FOLDER_MARKS.get(parts[0]) if len(parts) > 1 else None


def is_slow(item: pytest.Item) -> bool:
    return any(item.get_closest_marker(name) for name in ("slow", "cluster", "browser"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder and by the fixtures it uses."""
    for item in items:
        folder = folder_mark(item)
        if folder:
            item.add_marker(folder)
        if folder or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker("slow")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Remember whether the test about to set up belongs to the fast tier (before its fixtures start)."""
    global _fast_test
    _fast_test = None if is_slow(item) else item.nodeid


def refuse_in_fast_tier(what: str) -> None:
    """Fail a fast-tier test that is about to start `what` (a server, a model): it belongs in the slow tier."""
    if _fast_test is not None:
        pytest.fail(
            f"{_fast_test} {what}, so it belongs in the slow tier: use a shared server fixture, request "
            "`slow_tier` from the fixture that starts it, or mark the test `@pytest.mark.slow`",
            pytrace=False,
        )
