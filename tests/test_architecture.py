"""The house's floor plan holds: no package imports a higher layer, only the
ARI gateway imports aioari, the runtime never imports the developer tools,
and the picture in docs/architecture/ is what the code draws."""

from pathlib import Path

import pytest

from devtools.architecture import (
    PACKAGES,
    REPO,
    Import,
    imports,
    layer_of,
    module_name,
    to_dot,
    violations,
)

pytestmark = pytest.mark.unit


def test_no_package_imports_a_higher_layer() -> None:
    assert violations(imports()) == []


def test_a_lower_layer_importing_a_higher_one_is_named() -> None:
    wrong = [
        Import("voice.chain", "stasis_app.config", 3),  # voice under stasis_app
        Import("adapters.demo", "stasis_app.store", 4),
        Import("stasis_app.telephony.call", "stasis_app.flow.speech", 5),
        Import("stasis_app.verbs.say", "aioari", 1),  # only the gateway
        Import("stasis_app.app", "devtools.sandbox", 2),  # the runtime and the dev tools
        Import("plugin.hookspecs", "adapters.spec", 7),
    ]
    found = violations(wrong)
    assert [line.split(":")[0] for line in found] == [i.source for i in wrong]
    assert "telephony may not import call logic" in found[2]
    allowed = [
        Import("stasis_app.cli", "devtools.sandbox", 1),
        Import("stasis_app.verbs.transfer", "stasis_app.queue.caller", 1),  # one layer
        Import("stasis_app.telephony.gateway", "aioari", 1),
        Import("voice.chain", "adapters.errors", 1),
    ]
    assert violations(allowed) == []


def test_every_module_belongs_to_a_layer() -> None:
    modules = [module_name(path) for package in PACKAGES for path in (REPO / package).rglob("*.py")]
    assert modules and [m for m in modules if layer_of(m) is None] == []


def test_the_committed_picture_is_what_the_code_draws() -> None:
    committed = REPO / "docs" / "architecture" / "packages.dot"
    assert committed.read_text(encoding="utf-8") == to_dot(imports()), (
        "run: python -m devtools.architecture --out docs/architecture"
    )
    assert (committed.parent / "packages.svg").read_text().lstrip().startswith("<?xml")


def test_stasis_app_keeps_few_modules_at_its_top_and_says_what_each_folder_holds() -> None:
    top = sorted(p.name for p in (REPO / "stasis_app").glob("*.py"))
    assert len(top) <= 10, top
    for init in sorted((REPO / "stasis_app").glob("*/__init__.py")) + [
        REPO / package / "__init__.py" for package in PACKAGES
    ]:
        text = init.read_text(encoding="utf-8").lstrip()
        assert text.startswith('"""'), f"{Path(init).relative_to(REPO)} has no docstring"
