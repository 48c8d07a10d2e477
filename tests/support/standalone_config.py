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
        "audit": {**base["audit"], "heads_file": str(tmp_path / "audit-heads.log")},
        **more,
    }


def demo_bank_on_100(tmp_path: Path) -> dict[str, Any]:
    """``tenants``: one bank on line 100 with the shipped flow and a demo core
    of its own (``tmp_path / "bank.sqlite"``)."""
    return {
        "bank": {
            "name": "Bank",
            "lines": ["100"],
            "flow": str(TEST_CONFIG.parents[3] / "config" / "flows" / "bank.yaml"),
            "adapter": {
                "name": "demo",
                "settings": {"database": str(tmp_path / "bank.sqlite"), "tenant": "bank"},
            },
        }
    }
