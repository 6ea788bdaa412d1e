"""The layers hold: the worker runs jobs without HTTP code, the cluster never reaches into the local root, and
the job vocabulary knows nothing of the web framework."""

import ast
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def loaded_after_import(module: str, prefix: str) -> list[str]:
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith({prefix!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=APP.parent)
    return list(ast.literal_eval(out.stdout.strip()))


def test_importing_the_worker_loads_no_route_module() -> None:
    assert loaded_after_import("app.cluster.worker", "app.routes") == []


def test_nothing_in_the_cluster_package_imports_the_local_root() -> None:
    offenders = [p.name for p in (APP / "cluster").glob("*.py") if "app.composition" in imported_modules(p)]
    assert offenders == []


def test_the_job_vocabulary_and_the_wiring_import_no_web_framework_or_route() -> None:
    for path in [*(APP / "jobs").glob("*.py"), APP / "wiring.py"]:
        web = {m for m in imported_modules(path) if m.split(".")[0] in ("fastapi", "starlette")}
        routes = {m for m in imported_modules(path) if m.startswith(("app.routes", "app.composition"))}
        assert (path.name, web, routes) == (path.name, set(), set())
