"""A bank whose core system is a webservice: real calls to line 111 go
through the ``webservice`` adapter to the reference server of the contract."""

import asyncio
from collections.abc import Iterator
from decimal import Decimal

import pytest

from adapters.demo import DemoSettings
from devtools.simulator import CallSimulator, Transcript
from tests.support.reference_core import ReferenceCoreThread
from tests.test_real_bank import TEXTS, digits_from_words, said, words_after
from voice.polish import amount_words

pytestmark = pytest.mark.asterisk

LINE = "111"


@pytest.fixture
def core() -> Iterator[ReferenceCoreThread]:
    server = ReferenceCoreThread(
        DemoSettings(database="/tmp/infolinia-tests/demo-bank.sqlite", tenant="webservice")
    ).start()
    server.core.bank.reset()
    yield server
    server.stop()


def test_block_and_balance_through_the_banks_webservice(
    simulator: CallSimulator, core: ReferenceCoreThread
) -> None:
    """Two callers at once: one blocks card 1111, one hears the balance (the
    history's endpoint is covered over HTTP by the testkit and unit tests)."""

    async def two_calls() -> list[Transcript]:
        return await asyncio.gather(
            *(
                simulator.call(LINE, keys.split(), quiet_gap=0.3, timeout=150, hangup_after=1.5)
                for keys in ("1 12345678 1234# 1 1 1", "2 12345678 1234#")
            )
        )

    block_call, balance_transcript = asyncio.run(two_calls())
    balance_call = said(balance_transcript)

    state = core.core.bank.snapshot("12345678")
    assert [(c["last4"], c["status"]) for c in state["cards"]] == [
        ("1111", "blocked"),
        ("2222", "active"),
    ]
    heard = digits_from_words(words_after(block_call, TEXTS["card_blocked"]))
    assert heard == state["blocks"][0]["reference"]

    at = balance_call.index(TEXTS["balance_is"])
    assert balance_call[at + 1 : at + 9] == amount_words(Decimal("1234.56"))

    # Everything went over the signed contract, and nothing was refused.
    paths = {(seen.method, seen.path) for seen in core.core.seen}
    assert ("POST", "/v1/authenticate") in paths
    assert ("POST", "/v1/customers/12345678/cards/card-1111/block") in paths
    assert ("GET", "/v1/customers/12345678/accounts") in paths
    assert core.core.refused == []
