"""Bad credentials stop start-up with one clear message naming the file and
the field, against the real Asterisk (which answers 401)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stasis_app.sandbox import ARI_URL, Sandbox
from tests.conftest import TEST_CONFIG

pytestmark = pytest.mark.asterisk


def test_a_wrong_ari_password_stops_start_up_with_the_field_named(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "INFOLINIA_ARI_URL": ARI_URL,
        "INFOLINIA_ARI_PASSWORD": "not-the-password",
        "INFOLINIA_STATE": str(tmp_path / "state.sqlite"),
        # What the test config's other banks need, as for the tests' own app:
        "INFOLINIA_PLUGINS": "tests.support.faulty_adapters",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        "INFOLINIA_TEST_CORE_SECRET": "x",
        "INFOLINIA_TEST_WEBHOOK_SECRET": "x",
    }
    result = subprocess.run(
        [sys.executable, "-m", "stasis_app", "--config", str(TEST_CONFIG), "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"infolinia: {TEST_CONFIG}: ari.user/ari.password: ")
    assert "refused user 'infolinia'" in last
    assert "not-the-password" not in result.stderr + result.stdout
