"""Adapter discovery through pluggy: built-ins, plugins, settings, errors."""

import os
import subprocess
import sys
from pathlib import Path

import pluggy
import pytest
from pydantic import BaseModel

from adapters.hookspecs import AdapterFactory, hookimpl
from adapters.registry import AdapterRegistry, AdapterSetupError
from adapters.spec import CoreBanking
from plugin import spec
from plugin.manager import BUILTIN_PLUGINS, UnknownHookError, get_plugin_manager, known_hooks
from stasis_app.verbs.registry import VerbRegistry
from voice.registry import EngineRegistry

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parent.parent


class NoSettings(BaseModel):
    pass


class VendorPlugin:
    @hookimpl
    def infolinia_register_adapters(self) -> list[AdapterFactory]:
        return [AdapterFactory("vendor", NoSettings, lambda settings: object(), "a vendor's")]


def test_builtin_demo_adapter_is_registered_through_the_hook() -> None:
    registry = AdapterRegistry(get_plugin_manager(env={}))
    [info] = [i for i in registry.describe() if i.name == "demo"]
    assert info.plugin == "infolinia-builtin" and info.package == "infolinia"


def test_a_plugin_adds_an_adapter() -> None:
    manager = get_plugin_manager(env={})
    manager.register(VendorPlugin(), name="vendor-plugin")
    registry = AdapterRegistry(manager)
    assert registry.names() == ["demo", "vendor", "webservice"]


def test_two_plugins_with_one_name_are_refused() -> None:
    manager = get_plugin_manager(env={})
    manager.register(VendorPlugin(), name="one")
    manager.register(VendorPlugin(), name="two")
    with pytest.raises(AdapterSetupError, match="two plugins register the adapter 'vendor'"):
        AdapterRegistry(manager)


def test_blocked_plugins_are_not_loaded() -> None:
    registry = AdapterRegistry(
        get_plugin_manager(env={"INFOLINIA_DISABLE_PLUGINS": "infolinia-builtin"})
    )
    assert registry.names() == []


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
    assert len(hooks) == 3
    for hook in hooks:
        assert f"### `{hook}`" in docs, f"{hook} is not documented in docs/writing-an-adapter.md"
        assert getattr(spec, hook).__doc__, f"{hook} has no docstring in plugin/spec.py"


def test_settings_are_validated_by_the_adapters_own_schema(tmp_path: Path) -> None:
    registry = AdapterRegistry(get_plugin_manager(env={}))
    with pytest.raises(AdapterSetupError) as caught:
        registry.create("demo", {"tenant": "izbica"})
    assert caught.value.field == "adapter_settings.database"
    with pytest.raises(AdapterSetupError, match=r"no adapter named .ibs.*installed: demo"):
        registry.create("ibs", {})
    adapter = registry.create("demo", {"tenant": "izbica", "database": str(tmp_path / "d.sqlite")})
    assert isinstance(adapter, CoreBanking)
