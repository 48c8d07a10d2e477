"""The call logic (flow, verbs, queue) has no import cycles: not between its
modules (a function-level import counts: it only hides a cycle), and not
between its three packages. The flow model names the verbs only for type
checking; the webhook keeps its own table of the verbs a reply may ask for
instead of building a verb registry on every run."""

from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from devtools.architecture import REPO, Import, imports, module_name

pytestmark = pytest.mark.unit

CALL_LOGIC = ("stasis_app.flow", "stasis_app.verbs", "stasis_app.queue")


def _cycle(edges: Mapping[str, set[str]]) -> list[str]:
    """One cycle of the directed graph ``edges`` (empty: none)."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        path.append(node)
        for target in sorted(edges.get(node, ())):
            found = visit(target)
            if found:
                return found
        path.pop()
        done.add(node)
        return []

    for node in sorted(edges):
        found = visit(node)
        if found:
            return found
    return []


def _package(module: str) -> str:
    return next(p for p in CALL_LOGIC if module == p or module.startswith(p + "."))


def call_logic_cycles(found: Iterable[Import], modules: set[str]) -> tuple[list[str], list[str]]:
    """A cycle between call-logic modules, and one between its packages."""
    between_modules: dict[str, set[str]] = {}
    between_packages: dict[str, set[str]] = {}
    for imp in found:
        if imp.source in modules and imp.target in modules and imp.source != imp.target:
            between_modules.setdefault(imp.source, set()).add(imp.target)
            source, target = _package(imp.source), _package(imp.target)
            if source != target:
                between_packages.setdefault(source, set()).add(target)
    return _cycle(between_modules), _cycle(between_packages)


def call_logic_modules(root: Path) -> set[str]:
    return {
        module_name(path, root)
        for package in CALL_LOGIC
        for path in (root / package.replace(".", "/")).rglob("*.py")
    }


def test_the_call_logic_has_no_import_cycle() -> None:
    modules, packages = call_logic_cycles(imports(), call_logic_modules(REPO))
    assert modules == [], " -> ".join(modules)
    assert packages == [], " -> ".join(packages)


def test_a_cycle_is_found_and_named() -> None:
    hidden = [  # the webhook's function-level import of the registry, as it was
        Import("stasis_app.verbs.registry", "stasis_app.verbs.webhook", 1),
        Import("stasis_app.verbs.webhook", "stasis_app.verbs.registry", 2),
        Import("stasis_app.flow.model", "stasis_app.verbs.base", 3),
        Import("stasis_app.verbs.base", "stasis_app.flow.context", 4),
    ]
    modules = {i.source for i in hidden} | {i.target for i in hidden}
    between_modules, between_packages = call_logic_cycles(hidden, modules)
    assert between_modules == [
        "stasis_app.verbs.registry",
        "stasis_app.verbs.webhook",
        "stasis_app.verbs.registry",
    ]
    assert between_packages == ["stasis_app.flow", "stasis_app.verbs", "stasis_app.flow"]
