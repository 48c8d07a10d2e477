"""Adapter discovery through pluggy: built-ins, plugins, settings, errors."""

from pathlib import Path
from typing import cast

import pytest
from pydantic import BaseModel

from adapters.hookspecs import AdapterFactory, hookimpl
from adapters.registry import AdapterRegistry, AdapterSetupError
from adapters.spec import CoreBanking
from plugin.manager import get_plugin_manager

pytestmark = pytest.mark.unit


class NoSettings(BaseModel):
    pass


class VendorPlugin:
    @hookimpl
    def infolinia_register_adapters(self) -> list[AdapterFactory]:
        def build(settings: NoSettings) -> CoreBanking:
            return cast(CoreBanking, object())  # only listed, never asked anything

        return [AdapterFactory("vendor", NoSettings, build, "a vendor's")]


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


def test_settings_are_validated_by_the_adapters_own_schema(tmp_path: Path) -> None:
    registry = AdapterRegistry(get_plugin_manager(env={}))
    with pytest.raises(AdapterSetupError) as caught:
        registry.create("demo", {"tenant": "izbica"})
    assert caught.value.field == "adapter_settings.database"
    with pytest.raises(AdapterSetupError, match=r"no adapter named .ibs.*installed: demo"):
        registry.create("ibs", {})
    adapter = registry.create("demo", {"tenant": "izbica", "database": str(tmp_path / "d.sqlite")})
    assert isinstance(adapter, CoreBanking)
