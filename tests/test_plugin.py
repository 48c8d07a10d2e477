"""The plugin core (``plugin/``): one manager that knows every hook, fails a
misspelled one at start-up, registers the built-ins like any plugin, sits
below the packages that use it, and documents every hook for vendors."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pluggy
import pytest

from plugin import spec
from plugin.manager import BUILTIN_PLUGINS, UnknownHookError, get_plugin_manager, known_hooks
from stasis_app.verbs.registry import VerbRegistry
from voice.registry import EngineRegistry

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parent.parent


def test_a_misspelled_hook_fails_at_start_up_naming_plugin_and_hook() -> None:
    plugin = "tests.support.misspelled_plugin"
    with pytest.raises(UnknownHookError) as caught:
        get_plugin_manager(env={"INFOLINIA_PLUGINS": plugin})
    message = str(caught.value)
    assert f"plugin {plugin!r} implements 'infolinia_register_adapter'" in message
    assert "misspelled?" in message and "infolinia_register_adapters" in message
    # Still what pluggy raises, for whoever caught that before.
    assert isinstance(caught.value, pluggy.PluginValidationError)


def test_a_misspelled_hook_stops_the_app_before_it_serves(tmp_path: Path) -> None:
    settings = tmp_path / "infolinia.yaml"
    settings.write_text("tenants: {}\n")
    env = {**os.environ, "INFOLINIA_PLUGINS": "tests.support.misspelled_plugin"}
    run = subprocess.run(
        [sys.executable, "-m", "stasis_app", "adapters", "list"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode != 0
    assert "implements 'infolinia_register_adapter', which is no infolinia hook" in run.stderr


def test_every_built_in_plugin_registers_through_its_hook() -> None:
    manager = get_plugin_manager(env={})
    assert set(BUILTIN_PLUGINS) <= {name for name, _ in manager.list_name_plugin()}
    assert "say" in VerbRegistry(manager).names()
    assert "espeak-ng" in EngineRegistry(manager).names()
    blocked = get_plugin_manager(env={"INFOLINIA_DISABLE_PLUGINS": ",".join(BUILTIN_PLUGINS)})
    assert VerbRegistry(blocked).names() == EngineRegistry(blocked).names() == []


def test_every_hook_is_documented_for_vendors() -> None:
    # datasette's rule: a hook nobody documented is a hook nobody can use.
    docs = (REPO / "docs" / "writing-an-adapter.md").read_text(encoding="utf-8")
    hooks = known_hooks()
    assert len(hooks) == 4
    for hook in hooks:
        assert f"### `{hook}`" in docs, f"{hook} is not documented in docs/writing-an-adapter.md"
        assert getattr(spec, hook).__doc__, f"{hook} has no docstring in plugin/spec.py"


def test_the_plugin_core_imports_nothing_above_it() -> None:
    """``plugin`` is the lowest layer: at run time it imports only pluggy,
    pydantic and itself (hook signatures name higher types for mypy only)."""
    for path in (REPO / "plugin").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        typing_only = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top not in ("stasis_app", "voice", "adapters"), f"{path} imports {name}"
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, plugin.manager, plugin.hooks, plugin.registry; "
         "print(sorted({m.split('.')[0] for m in sys.modules}))"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert not {"'stasis_app'", "'voice'", "'adapters'"} & set(loaded.strip("[]\n").split(", "))
