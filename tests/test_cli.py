"""The infolinia command: help, and clear errors for bad config."""

import json
from pathlib import Path

import pytest

from stasis_app.cli import main

pytestmark = pytest.mark.unit


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in ("sandbox up", "run", "call 100"):
        assert command in out


def test_missing_config_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", "/nonexistent/infolinia.yaml", "run"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "infolinia: /nonexistent/infolinia.yaml: -: file not found"


def test_unreadable_sandbox_password_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("ari:\n  password_file: /nowhere/sandbox/ari-password\n")
    assert main(["--config", str(config), "run"]) == 2
    err = capsys.readouterr().err
    assert "ari.password_file" in err and "infolinia sandbox up" in err


def test_adapters_list_names_the_builtin_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["adapters", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {"name": "demo", "package": "infolinia", "plugin": "infolinia-builtin"}.items() <= (
        listed[0].items()
    )
