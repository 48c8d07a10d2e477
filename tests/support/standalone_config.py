"""A config for an app a test runs on its own (in place of the tests' own
app): the test config's ARI, voice and prompts, its own state store, and no
admin server (the tests' own app has that port)."""

from pathlib import Path
from typing import Any

import yaml

from tests.conftest import TEST_CONFIG


def standalone_config(tmp_path: Path, **more: Any) -> dict[str, Any]:
    """The shared settings, plus ``more`` (tenants, security...)."""
    base = yaml.safe_load(TEST_CONFIG.read_text())
    return {
        "ari": base["ari"],
        "voice": base["voice"],
        "prompts": str(TEST_CONFIG.parent / base["prompts"]),
        "state": str(tmp_path / "state.sqlite"),
        "admin": {"enabled": False},
        **more,
    }
