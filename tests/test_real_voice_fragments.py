"""The demo balance on a real call flows: its amount, played word by word from
fragments, lasts at most 1.25 times the same words synthesized whole by the
same engine, with no silence over 100 ms inside it (issue 22). The demo
customer has two accounts (adapters/demo.py): the sentence says the personal
account's balance, then the savings account's; both amounts are measured.

Measured on what the caller heard: the simulator records the line's audio
(a snoop), a witness notes when Asterisk started the recording and the
amount's first word, and when what follows it started (or the playback
finished); the amount is the
speech between those two moments (tests/support/heard_speech.py).
"""

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from devtools.simulator import CallSimulator
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from tests.conftest import TEST_CONFIG
from tests.support.ari_client import Ari, Event, Witness
from tests.support.heard_speech import spoken_whole, value_heard
from voice.fragments import fragment_keys
from voice.polish import amount_words

pytestmark = pytest.mark.asterisk

# The demo bank's first customer (adapters/demo.py): the personal account's
# balance, then the savings account's, in one sentence.
BALANCES = (Decimal("1234.56"), Decimal("15000.00"))
MAX_RATIO = 1.25
MAX_SILENCE_MS = 100


def test_the_demo_balance_is_spoken_without_gaps(
    simulator: CallSimulator, ari: Ari, tmp_path: Path
) -> None:
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    book = build_deployment(settings, with_adapters=False).tenants["izbica"].prompts
    uris = book.media_uris()
    heard = tmp_path / "demo-call.wav"

    async def call() -> list[Event]:
        async with Witness(ari) as witness:
            await simulator.call("100", ["2", "12345678", "1234#"], wav=heard, hangup_after=0.3)
            return list(witness.events)

    events = asyncio.run(call())
    engine = book.cache.chain.engines[0]  # the engine that rendered the fragments
    for balance in BALANCES:
        words = amount_words(balance)
        amount = value_heard(events, heard, [uris[key] for key in fragment_keys(words)])
        assert amount.start_ms <= 60, "the recording and the events disagree on when it began"
        whole = spoken_whole(engine, words)
        ratio = amount.duration_ms / whole.duration_ms
        print(
            f"\nthe demo balance {balance} on a real call ({engine.identity}, "
            f"pause {settings.voice.fragment_pause_ms} ms): {amount.duration_ms} ms through "
            f"fragments, {whole.duration_ms} ms whole, ratio {ratio:.2f}, "
            f"longest silence inside {amount.longest_pause_ms} ms"
        )
        assert ratio <= MAX_RATIO, balance
        assert amount.longest_pause_ms <= MAX_SILENCE_MS, balance
