"""Guessing a telekod with many calls at once, on real calls (issue 17,
points 1 to 4): six SIPp callers, from four numbers and two withheld ones,
type wrong telekods for one customer number at the same moment. At most five
reach the bank, then the telekod is locked; the owner can still block a card
with the date of birth; a caller the lock stops on the blocking path goes to
a consultant, and out of hours leaves a block request; two callers blocking
one card at the same moment hear one reference.

Runs its own app, whose bank's core is a reference webservice core in this
process (so the test counts every request that reached the bank) and whose
consultants are out of hours."""

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from adapters.demo import DemoSettings
from devtools.sandbox import Sandbox
from devtools.simulator import CallSimulator, Transcript
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.safeguards.audit import AuditLog
from stasis_app.safeguards.journal import REQUESTED, BlockJournal
from stasis_app.store import Store
from tests.conftest import TEST_CONFIG
from tests.support.app_process import AppProcess
from tests.support.reference_core import SECRET, ReferenceCoreThread, Seen
from tests.support.sipp import SippResult, sipp_call
from tests.support.standalone_config import standalone_config
from tests.test_real_bank import digits_from_words, said, words_after

pytestmark = pytest.mark.asterisk

VICTIM, VICTIM_PIN, VICTIM_BORN = "87654321", "4321", "15061985"  # demo seed, card 3333
GUESSERS = ("600100001", "600100002", "600100003", "600100004", "anonymous", "anonymous")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def closed_days() -> list[str]:
    """Working days that are not today nor tomorrow in Warsaw: consultants are out."""
    today = datetime.now(ZoneInfo("Europe/Warsaw"))
    near = {DAYS[(today + timedelta(days=d)).weekday()] for d in (0, 1)}
    return [day for day in DAYS if day not in near]


def bank_config(tmp_path: Path, core_port: int) -> dict[str, Any]:
    base = yaml.safe_load(TEST_CONFIG.read_text())
    return standalone_config(
        tmp_path,
        security={**base["security"], "caller_refuse_after": 50},
        tenants={
            "bank": {
                "name": "Bank",
                "lines": ["100"],
                "flow": str(TEST_CONFIG.parents[3] / "config" / "flows" / "bank.yaml"),
                "adapter": {
                    "name": "webservice",
                    "settings": {
                        "base_url": f"http://127.0.0.1:{core_port}/",
                        "secret_env": "INFOLINIA_TEST_CORE_SECRET",
                    },
                },
                "consultant": {
                    "extension": "bank",
                    "hours": {"days": closed_days(), "open": "08:00", "close": "16:00"},
                },
            }
        },
    )


@dataclass
class Rounds:
    settings: Any
    texts: dict[str, str]
    guessers: list[SippResult]
    asked_in_race: list[Seen]  # authenticate requests about the victim
    blockers: list[Transcript]  # two callers blocking card 1111 of 12345678 at once
    blocks_of_12345678: list[dict[str, Any]]
    right_pin: Transcript
    birth_date_block: Transcript
    locked_blocker: Transcript
    core_down_blocker: Transcript  # the bank's system down, out of hours
    asked_after_race: list[Seen]
    victim_cards: list[dict[str, Any]]


def logins_about(seen: list[Seen], number: str) -> list[Seen]:
    return [
        s for s in seen if s.path == "/v1/authenticate" and s.body.get("customer_number") == number
    ]


@pytest.fixture(scope="module")
def rounds(
    app: AppProcess, sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Rounds]:
    tmp_path = tmp_path_factory.mktemp("login-race")
    core = ReferenceCoreThread(
        DemoSettings(database=tmp_path / "bank.sqlite", tenant="bank"), port=0
    ).start()
    core.core.bank.reset()
    config = tmp_path / "infolinia.yaml"
    config.write_text(yaml.safe_dump(bank_config(tmp_path, core.port), allow_unicode=True))
    app.stop()  # the next test restarts the tests' own app
    env = {
        "INFOLINIA_ARI_PASSWORD": sandbox.ari_password(),
        "INFOLINIA_TEST_CORE_SECRET": SECRET.decode(),
    }
    process = AppProcess(config, env, tmp_path / "app.log").start()
    try:
        settings = load_settings(config, env=env)
        deployment = build_deployment(settings, with_adapters=False)
        simulator = CallSimulator(settings.ari, deployment.heard_texts())

        def call(keys: str) -> Any:
            return simulator.call("100", keys.split(), quiet_gap=0.3, timeout=120, hangup_after=1.5)

        async def race() -> tuple[list[SippResult], list[Transcript]]:
            guessing = [
                sipp_call(
                    "100",
                    "2" + "".join(f"{VICTIM}{n}{attempt:03}#" for attempt in range(3)),
                    wait_ms=1500,
                    workdir=tmp_path / f"sipp-{n}",
                    caller=caller,
                )
                for n, caller in enumerate(GUESSERS)
            ]
            blocking = [call("1 12345678 1234# 1 1 1") for _ in range(2)]
            results = await asyncio.gather(*guessing, *blocking)
            return list(results[: len(guessing)]), list(results[len(guessing) :])

        guessers, blockers = asyncio.run(race())
        asked_in_race = logins_about(core.core.seen, VICTIM)

        async def after() -> list[Transcript]:
            return list(
                await asyncio.gather(
                    call(f"2 {VICTIM} {VICTIM_PIN}#"),  # the right telekod, after the lock
                    call(f"1 {VICTIM} * {VICTIM_BORN} 1 1 1"),  # the owner blocks the card
                    call(f"1 {VICTIM} 0000#"),  # a locked caller on the blocking path
                    call("1 12345678 1234#"),  # the bank's system is down for this one
                )
            )

        core.core.faults.down_for = {"12345678"}
        right_pin, birth_date_block, locked_blocker, core_down_blocker = asyncio.run(after())
        core.core.faults.down_for = set()
        yield Rounds(
            settings=settings,
            texts=deployment.tenants["bank"].prompts.texts,
            guessers=guessers,
            asked_in_race=asked_in_race,
            blockers=blockers,
            blocks_of_12345678=core.core.bank.snapshot("12345678")["blocks"],
            right_pin=right_pin,
            birth_date_block=birth_date_block,
            locked_blocker=locked_blocker,
            core_down_blocker=core_down_blocker,
            asked_after_race=logins_about(core.core.seen, VICTIM)[len(asked_in_race) :],
            victim_cards=core.core.bank.snapshot(VICTIM)["cards"],
        )
    finally:
        process.stop()
        core.stop()


def test_callers_at_once_get_at_most_five_wrong_telekods_to_the_bank(rounds: Rounds) -> None:
    """Six SIPp calls at once, 18 wrong telekods for one customer number from
    four numbers and two withheld: the bank hears five at most, then the
    telekod is locked and the right one is refused without asking the bank.
    (Before: every call's count was read before any failure was written, and
    all the attempts reached the bank, with no lock.)"""
    assert [r.returncode for r in rounds.guessers] == [0] * len(GUESSERS), [
        r.output for r in rounds.guessers
    ]
    assert 1 <= len(rounds.asked_in_race) <= 5
    texts = rounds.texts
    assert said(rounds.right_pin)[-1] == texts["too_many_failures"]
    assert texts["balance_is"] not in said(rounds.right_pin)
    assert rounds.asked_after_race == []  # the right telekod never reached the bank
    audit = AuditLog(Store(rounds.settings.state)).entries(limit=500)
    victims = [e for e in audit if e.customer == "*****321" and e.action == "authenticate"]
    assert sum(e.result == "refused" for e in victims) == len(rounds.asked_in_race)
    assert "locked" in {e.result for e in victims}
    assert {e.caller for e in victims} >= {"600100001", "anonymous"}


def test_the_owner_still_blocks_the_card_with_the_date_of_birth(rounds: Rounds) -> None:
    """The telekod is locked by someone else's guessing; the owner's date of
    birth still identifies them and the card is blocked. (Before: one lock for
    both, and the shipped flow hung up on the owner.)"""
    texts = rounds.texts
    assert texts["card_blocked"] in said(rounds.birth_date_block)
    assert [c["status"] for c in rounds.victim_cards] == ["blocked"]


def test_a_locked_caller_on_the_blocking_path_gets_a_block_request_not_a_hangup(
    rounds: Rounds,
) -> None:
    """Out of hours, a caller whose telekod is locked hears that a consultant
    is tried, that nobody answers now, and the reference of a block request
    the bank's staff confirm; the request is in the block journal and the
    audit trail. (Before: "too many attempts" and a hang-up.)"""
    texts = rounds.texts
    spoken = said(rounds.locked_blocker)
    assert texts["too_many_failures"] not in spoken
    assert spoken.index(texts["block_login_failed"]) < spoken.index(texts["outside_hours"])
    reference = digits_from_words(
        words_after(rounds.locked_blocker, texts["block_request_registered"])
    )
    assert len(reference) == 8 and reference.startswith("9")
    store = Store(rounds.settings.state)
    [request] = [
        e
        for e in BlockJournal(store).entries()
        if e.kind == "block_request" and e.customer == VICTIM
    ]
    assert (request.state, request.reference, request.customer) == (REQUESTED, reference, VICTIM)
    proofs = AuditLog(store).entries(limit=500)
    assert ("block_request", "journaled", reference) in {
        (e.action, e.result, e.reference) for e in proofs
    }


def test_two_callers_blocking_one_card_at_once_hear_one_reference(rounds: Rounds) -> None:
    """Two calls confirm the block of card 1111 at the same moment: one block
    at the bank and the same reference read to both. (Before: two blocks,
    two references.)"""
    texts = rounds.texts
    references = [
        digits_from_words(words_after(transcript, texts["card_blocked"]))
        for transcript in rounds.blockers
    ]
    assert len(references[0]) == 8 and references[0] == references[1]
    assert [b["reference"] for b in rounds.blocks_of_12345678] == [references[0]]


def test_with_the_banks_system_down_out_of_hours_a_blocker_leaves_a_block_request(
    rounds: Rounds,
) -> None:
    """The core answers 503 and no consultant works now: the caller on the
    blocking path hears that the bank's system is down, that nobody answers
    now, and a block request's reference. (Before: "goodbye" and a hang-up.)"""
    texts = rounds.texts
    spoken = said(rounds.core_down_blocker)
    assert spoken.index(texts["bank_unavailable"]) < spoken.index(texts["outside_hours"])
    assert texts["goodbye"] not in spoken[: spoken.index(texts["block_request_registered"])]
    words = words_after(rounds.core_down_blocker, texts["block_request_registered"])
    reference = digits_from_words(words)
    journal = BlockJournal(Store(rounds.settings.state)).entries()
    assert (reference, "12345678") in {(e.reference, e.customer) for e in journal}
