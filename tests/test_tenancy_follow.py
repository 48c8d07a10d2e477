"""A running app takes the banks another node's admin page added or changed
in the shared store (stasis_app/app.py, ``_follow_banks``), without
Asterisk: within a look it serves the new number, with its greeting
rendered before the number opened; a change is taken the same way; a
stored bank that does not load on this node is left out, the others serve."""

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from stasis_app.app import InfoliniaApp
from stasis_app.config import load_settings
from stasis_app.store import Store
from stasis_app.tenancy.stored import TenantStore
from tests.support.standalone_config import demo_bank_on_100, standalone_config

pytestmark = pytest.mark.unit


def spec(tmp_path: Path, greeting: str, **more: object) -> dict[str, object]:
    return {
        "name": "Bank Spółdzielczy w Krośnie",
        "lines": ["181"],
        "flow": str(Path(__file__).resolve().parents[1] / "config" / "flows" / "bank.yaml"),
        "adapter": {
            "name": "demo",
            "settings": {"database": str(tmp_path / "bank.sqlite"), "tenant": "krosno"},
        },
        "prompts": {"greeting": greeting},
        **more,
    }


async def until(check: Callable[[], bool], timeout: float = 30) -> None:
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not within the time")


async def test_a_bank_another_node_added_is_served_here_rendered_first(tmp_path: Path) -> None:
    path = tmp_path / "infolinia.yaml"
    config = standalone_config(tmp_path, tenants=demo_bank_on_100(tmp_path))
    config["ari"] = {**config["ari"], "password": "not-used"}  # never connects
    path.write_text(yaml.safe_dump(config))
    settings = load_settings(path)
    app = InfoliniaApp(settings)
    assert "181" not in app.deployment.lines
    health = app.deployment.health  # which TTS engines are down: kept by the next one
    other_node = TenantStore(Store(settings.state))  # another node's admin page
    following = asyncio.create_task(app._follow_banks(every=0.05))
    try:
        other_node.save("krosno", spec(tmp_path, "Krosno, test węzła."), "ola", {})
        await until(lambda: "181" in app.deployment.lines)
        served = app.deployment.lines["181"]
        assert served.tenant.id == "krosno" and "100" in app.deployment.lines
        # Rendered before the deployment took calls: its audio is there.
        media = Path(served.prompts.media("greeting").removeprefix("sound:"))
        assert list(media.parent.glob(media.name + ".*"))
        assert app.prompt_admin.deployment is app.deployment  # the admin pages edit it too
        assert health is not None and app.deployment.health is health  # an outage said once

        other_node.save("krosno", spec(tmp_path, "Krosno, zmiana."), "ewa", {}, expected_revision=1)
        await until(
            lambda: app.deployment.lines["181"].prompts.texts["greeting"] == "Krosno, zmiana."
        )
        # A bank whose adapter is not installed here: left out, the others serve.
        broken = spec(tmp_path, "Jasło.", lines=["182"], adapter={"name": "nie-ma-takiego"})
        other_node.save("jaslo", broken, "ola", {})
        await until(lambda: "jaslo" in app.left_out)
        assert "no adapter named 'nie-ma-takiego'" in app.left_out["jaslo"]
        assert "182" not in app.deployment.lines and "181" in app.deployment.lines
    finally:
        following.cancel()
        for deployment in (*app._retired, app.deployment):
            for bank in deployment.tenants.values():
                await bank.bank.close()
