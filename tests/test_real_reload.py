"""Reloading the config (SIGHUP) while the line runs: a good file changes what
the next call hears; a broken one changes nothing, and the log names the
file and the field."""

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.sandbox import Sandbox
from devtools.simulator import CallSimulator
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from tests.conftest import TEST_CONFIG
from tests.support.app_process import AppProcess
from tests.support.standalone_config import standalone_config

pytestmark = pytest.mark.asterisk


def echo_config(tmp_path: Path, greeting: str) -> dict[str, Any]:
    return standalone_config(
        tmp_path,
        tenants={
            "echo": {
                "name": "Echo",
                "lines": ["107"],
                "flow": str(TEST_CONFIG.parent / "flows" / "echo.yaml"),
                "adapter": {
                    "name": "demo",
                    "settings": {"database": str(tmp_path / "bank.sqlite"), "tenant": "echo"},
                },
                "prompts": {"greeting": greeting},
            }
        },
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "infolinia.yaml"
    path.write_text(yaml.safe_dump(echo_config(tmp_path, "Przed zmianą."), allow_unicode=True))
    return path


@pytest.fixture
def echo_app(
    config: Path, app: AppProcess, sandbox: Sandbox, tmp_path: Path
) -> Iterator[AppProcess]:
    """An app on ``config`` in place of the tests' own (the next test restarts that one)."""
    app.stop()
    env = {"INFOLINIA_ARI_PASSWORD": sandbox.ari_password()}
    process = AppProcess(config, env, tmp_path / "app.log").start()
    yield process
    process.stop()


def greeting(config: Path, sandbox: Sandbox) -> str:
    settings = load_settings(config, env={"INFOLINIA_ARI_PASSWORD": sandbox.ari_password()})
    simulator = CallSimulator(
        settings.ari, build_deployment(settings, with_adapters=False).heard_texts()
    )
    transcript = asyncio.run(simulator.call("107", [], quiet_gap=0.3, timeout=60, hangup_after=0))
    return next(step.text for step in transcript.steps if step.kind == "prompt")


def reload(app: AppProcess, event: str) -> dict[str, Any]:
    seen = app.count(lambda e: e.get("event") == event)
    assert app.proc is not None
    app.proc.send_signal(signal.SIGHUP)
    return app.wait_for(
        lambda e: e.get("event") == event and app.count(lambda x: x.get("event") == event) > seen,
        30,
    )


def test_a_good_config_is_taken_and_a_broken_one_refused(
    echo_app: AppProcess, config: Path, sandbox: Sandbox, tmp_path: Path
) -> None:
    assert greeting(config, sandbox) == "Przed zmianą."

    config.write_text(yaml.safe_dump(echo_config(tmp_path, "Po zmianie."), allow_unicode=True))
    reload(echo_app, "config reloaded")
    assert greeting(config, sandbox) == "Po zmianie."

    good = config.read_text()
    broken = echo_config(tmp_path, "Zepsute.")
    broken["tenants"]["echo"]["prompts"]["no_such_prompt"] = "x"
    config.write_text(yaml.safe_dump(broken, allow_unicode=True))
    refused = reload(echo_app, "config reload refused; the line keeps its running config")
    assert refused["file"] == str(config)
    assert refused["field"] == "tenants.echo.prompts.no_such_prompt"
    config.write_text(good)  # what the simulator reads to name the prompts
    assert greeting(config, sandbox) == "Po zmianie."
    assert echo_app.proc is not None and echo_app.proc.poll() is None  # never restarted
