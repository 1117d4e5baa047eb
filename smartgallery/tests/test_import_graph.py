"""The import direction of the house: views -> services/selectors -> models; tasks -> services
-> engine/index. No cycle among the project's modules (imports inside functions count too),
except an app's services enqueueing that app's own tasks; nothing below services imports tasks.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APPS = ("accounts", "faces", "gallery", "sharing", "smartgallery")
# Drivers above the task layer: they run tasks the way a worker would (the evaluation
# simulates a user end to end; management commands are interfaces like views).
DRIVERS = ("faces.evaluation", "smartgallery.celery")


def project_modules() -> dict[str, Path]:
    modules = {}
    for app in APPS:
        for path in (REPO / app).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    known = set(modules)
    return {name: imports_of(path, name, known) for name, path in modules.items()}


def allowed_edge(source: str, target: str) -> bool:
    """An app's services may enqueue its own tasks (the one sanctioned loop)."""
    app = source.split(".")[0]
    return source == f"{app}.services" and target == f"{app}.tasks"


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_project_modules():
    edges = {src: {dst for dst in dsts if not allowed_edge(src, dst)} for src, dsts in graph().items()}
    assert cycles(edges) == []


def test_only_tasks_and_an_apps_own_services_import_tasks():
    offenders = []
    for source, targets in graph().items():
        for target in targets:
            if not target.endswith(".tasks") or source.endswith(".tasks") or ".management." in source:
                continue
            if source in DRIVERS:
                continue
            if not allowed_edge(source, target):
                offenders.append(f"{source} -> {target}")
    assert offenders == []


@pytest.mark.parametrize("module", ["faces.recognition_model", "faces.index"])
def test_the_lowest_faces_modules_import_nothing_of_faces_but_the_engine_loader(module):
    imported = graph()[module]
    assert {name for name in imported if name.startswith("faces.")} <= {"faces.engine_loader"}
