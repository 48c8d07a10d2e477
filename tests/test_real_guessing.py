"""A calling number that tries customer number after customer number is
slowed, then refused, even with a right telekod, without the bank being
asked; another calling number is not affected. Runs its own app, whose
config has low limits (the tests' own calls all come from one number)."""

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.demo import DemoBank, DemoSettings
from devtools.sandbox import Sandbox
from devtools.simulator import CallSimulator, Transcript
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.safeguards.audit import AuditLog
from stasis_app.store import Store
from tests.conftest import TEST_CONFIG
from tests.support.app_process import AppProcess
from tests.support.sipp import SippResult, sipp_call
from tests.support.standalone_config import demo_bank_on_100, standalone_config

pytestmark = pytest.mark.asterisk


def bank_config(tmp_path: Path) -> dict[str, Any]:
    base = yaml.safe_load(TEST_CONFIG.read_text())
    return standalone_config(
        tmp_path,
        security={
            **base["security"],
            "caller_slow_after": 1,  # the second customer number is slowed
            "caller_refuse_after": 3,  # the third is refused
            "slow_seconds": 0.5,
        },
        tenants=demo_bank_on_100(tmp_path),
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "infolinia.yaml"
    path.write_text(yaml.safe_dump(bank_config(tmp_path), allow_unicode=True))
    return path


@pytest.fixture
def bank_app(
    config: Path, app: AppProcess, sandbox: Sandbox, tmp_path: Path
) -> Iterator[AppProcess]:
    app.stop()  # the next test restarts the tests' own app
    env = {"INFOLINIA_ARI_PASSWORD": sandbox.ari_password()}
    process = AppProcess(config, env, tmp_path / "app.log").start()
    yield process
    process.stop()


def test_a_number_trying_many_customers_is_slowed_then_refused(
    bank_app: AppProcess, config: Path, sandbox: Sandbox, tmp_path: Path
) -> None:
    settings = load_settings(config, env={"INFOLINIA_ARI_PASSWORD": sandbox.ari_password()})
    deployment = build_deployment(settings, with_adapters=False)
    texts = deployment.tenants["bank"].prompts.texts
    simulator = CallSimulator(settings.ari, deployment.heard_texts())

    async def both() -> list[Transcript]:
        # Two wrong telekods for two customers, then the right one for a third;
        # meanwhile another calling number logs in as that third customer.
        return await asyncio.gather(
            *(
                simulator.call(
                    "100",
                    keys.split(),
                    quiet_gap=0.3,
                    timeout=90,
                    hangup_after=1.0,
                    caller_number=caller,
                )
                for keys, caller in (
                    ("2 12345678 0000# 87654321 0000# 31415926 271828#", "600700800"),
                    ("2 31415926 271828# 9", "600111222"),
                )
            )
        )

    guesser, other = (
        [step.text for step in t.steps if step.kind == "prompt"] for t in asyncio.run(both())
    )
    assert texts["balance_is"] not in guesser
    assert guesser[-1] == texts["too_many_failures"]
    bank = DemoBank(DemoSettings(database=tmp_path / "bank.sqlite", tenant="bank"))
    assert bank.snapshot("31415926")["failed_logins"] == 0  # the bank was not asked
    entries = AuditLog(Store(settings.state)).entries(limit=100)
    assert [(e.caller, e.customer, e.result) for e in entries if e.caller == "600700800"] == [
        ("600700800", "*****678", "refused"),
        ("600700800", "*****321", "refused"),  # after a slowed start
        ("600700800", "*****926", "caller_refused"),
    ]
    refused = [e for e in bank_app.entries() if e.get("event") == "login refused"]
    assert [e.get("why") for e in refused] == ["refused", "refused", "caller_refused"]
    assert bank_app.count(lambda e: str(e.get("event")).startswith("login slowed")) == 1

    # The other calling number, the same customer: served.
    assert texts["balance_is"] in other


def test_withheld_numbers_are_one_caller_for_the_guard(
    bank_app: AppProcess, config: Path, sandbox: Sandbox, tmp_path: Path
) -> None:
    """Hiding the number does not reset the count: a call with no caller id
    tries one customer number, a SIPp call from "anonymous" a second (slowed)
    and, with the right telekod, a third: refused without asking the bank.
    (Before, a withheld number was never slowed or refused.)"""
    settings = load_settings(config, env={"INFOLINIA_ARI_PASSWORD": sandbox.ari_password()})
    deployment = build_deployment(settings, with_adapters=False)
    texts = deployment.tenants["bank"].prompts.texts
    simulator = CallSimulator(settings.ari, deployment.heard_texts())

    async def calls() -> tuple[Transcript, SippResult, Transcript]:
        first = await simulator.call(
            "100",
            ["2", "12345678", "0000#"],
            quiet_gap=0.3,
            timeout=60,
            hangup_after=1.0,
            caller_number="",
        )
        second = await sipp_call(
            "100",
            "2876543210000#",
            wait_ms=1500,
            workdir=tmp_path / "sipp",
            caller="anonymous",
            hangup_after_ms=4000,  # refused, then asked again: the caller gives up
        )
        third = await simulator.call(
            "100",
            ["2", "31415926", "271828#"],
            quiet_gap=0.3,
            timeout=60,
            hangup_after=1.0,
            caller_number="",
        )
        return first, second, third

    _, sipp, third = asyncio.run(calls())
    assert sipp.returncode == 0, sipp.output
    spoken = [step.text for step in third.steps if step.kind == "prompt"]
    assert texts["balance_is"] not in spoken and spoken[-1] == texts["too_many_failures"]
    bank = DemoBank(DemoSettings(database=tmp_path / "bank.sqlite", tenant="bank"))
    assert bank.snapshot("31415926")["failed_logins"] == 0  # the bank was not asked
    entries = AuditLog(Store(settings.state)).entries(limit=100)
    assert [(e.customer, e.result) for e in entries if e.action == "authenticate"] == [
        ("*****678", "refused"),
        ("*****321", "refused"),  # after a slowed start
        ("*****926", "caller_refused"),
    ]
    assert bank_app.count(lambda e: str(e.get("event")).startswith("login slowed")) == 1
