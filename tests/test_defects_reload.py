"""A config reload (SIGHUP) without Asterisk: settings that are read once at
start keep their running values, and the log names every one that changed;
the block journal's retry rhythm changes at once."""

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from stasis_app.app import RESTART_ONLY, InfoliniaApp, waiting_for_restart
from stasis_app.config import Settings, load_settings
from tests.support.standalone_config import standalone_config

pytestmark = pytest.mark.unit

WAITS = "these settings change only at the next restart"


def _config(tmp_path: Path, **more: Any) -> dict[str, Any]:
    config = standalone_config(tmp_path, **more)
    config["ari"] = {**config["ari"], "password": "not-used"}  # never connects
    return config


def _write(path: Path, config: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(config))


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("INFOLINIA_")]:
        monkeypatch.delenv(name)


@pytest.mark.usefixtures("clean_env")
async def test_a_reload_names_every_setting_that_waits_for_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "infolinia.yaml"
    config = _config(tmp_path, security={"journal_retry_seconds": 5})
    _write(path, config)
    app = InfoliniaApp(load_settings(path))
    running_state = app.settings.state

    _write(
        path,
        {
            **config,
            "state": str(tmp_path / "elsewhere.sqlite"),
            "log_level": "debug",
            "security": {
                "journal_retry_seconds": 1,
                "filler_after": 2.5,
                "spool_dir": str(tmp_path / "other-spool"),
            },
        },
    )
    caplog.set_level(logging.INFO)
    assert await app.reload()

    [warning] = [r for r in caplog.records if r.getMessage() == WAITS]
    assert warning.levelno == logging.WARNING
    assert warning.__dict__["settings"] == ["state", "log_level", "security.spool_dir"]
    assert app.settings.state == running_state  # the store in use, not the file's
    assert app.settings.log_level == "info"
    assert app.journal_worker.every == 1  # applied: the next round comes sooner
    assert app.safeguards.settings.filler_after == 2.5  # applied, as before
    # Blocks still spool where the journal's worker drains.
    assert app.safeguards.blocks.spool is not None and app.journal_worker.blocks.spool is not None
    assert app.safeguards.blocks.spool.folder == app.journal_worker.blocks.spool.folder
    assert not (tmp_path / "elsewhere.sqlite").exists()


@pytest.mark.usefixtures("clean_env")
async def test_a_reload_that_changes_only_live_settings_warns_of_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "infolinia.yaml"
    config = _config(tmp_path)
    _write(path, config)
    app = InfoliniaApp(load_settings(path))
    _write(path, {**config, "security": {"journal_retry_seconds": 2}})
    caplog.set_level(logging.INFO)
    assert await app.reload()
    assert WAITS not in [r.getMessage() for r in caplog.records]
    assert app.journal_worker.every == 2


def test_every_top_level_setting_is_live_or_named_as_restart_only() -> None:
    """A new top-level setting must be sorted: either a reload applies it
    (build_deployment or Safeguards read it again) or it is in RESTART_ONLY."""
    live = {"voice", "prompts", "tenants", "security", "source"}
    assert set(Settings.model_fields) == live | set(RESTART_ONLY)
    assert not live & set(RESTART_ONLY)
    defaults = Settings()
    assert waiting_for_restart(defaults, defaults) == []
