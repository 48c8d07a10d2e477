"""Bad credentials stop start-up with one clear message naming the file and
the field, against the real Asterisk (which answers 401)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devtools.sandbox import ARI_URL, Sandbox
from tests.support.standalone_config import standalone_config

pytestmark = pytest.mark.asterisk


def test_a_wrong_ari_password_stops_start_up_with_the_field_named(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    config = tmp_path / "infolinia.yaml"
    config.write_text(yaml.safe_dump(standalone_config(tmp_path)))
    env = {
        **os.environ,
        "INFOLINIA_ARI_URL": ARI_URL,
        "INFOLINIA_ARI_PASSWORD": "not-the-password",
    }
    result = subprocess.run(
        [sys.executable, "-m", "stasis_app", "--config", str(config), "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"infolinia: {config}: ari.user/ari.password: ")
    assert "refused user 'infolinia'" in last
    assert "not-the-password" not in result.stderr + result.stdout
