"""Issue 25 on real SIP calls (SIPp, each from its own number, all at once):
the bank's webservice (tests/support/webhook_server.py, on the bank flow's
``webservice`` state) makes the caller hear texts in no catalogue (a public
one rendered by the bank's online engine, a stand-in that records what it
is asked, cached and replayed from the cache; a private one spoken live,
never cached, never asked of the online engine), transfers to a queue and
to another of the bank's lines, and hands a known caller straight into card
blocking (``set`` + ``goto``); a ``route`` sends a caller on the bank's list
(a file) one way, a withheld number another and anyone else a third; the
bank flow's night branch plays outside the bank's hours."""

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.sandbox import Sandbox
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from tests.conftest import TEST_CONFIG, SpokenPrompts
from tests.support.app_process import AppProcess
from tests.support.ari_client import Ari, Witness
from tests.support.online_standin import OnlineStandin, requested
from tests.support.sipp import sipp_call
from tests.support.webhook_server import (
    KNOWN_CALLERS,
    OTHER_LINE,
    TO_LINE,
    TO_QUEUE,
    WebhookServer,
    private_text,
)
from voice.cache import normalize

pytestmark = pytest.mark.asterisk

VIP_FILE = Path("/tmp/infolinia-tests/vip-callers.txt")  # the test config's routed bank
VIP, NOBODY, NEWS_READER, NIGHT = "48600000005", "48600000006", "48600000001", "48600000007"
# The news reader hears a public and a private text before hanging up; with
# room for a machine busy with the cluster's tests beside (./dev test).
NEWS_SECONDS = 6.0
[KNOWN] = KNOWN_CALLERS


@pytest.fixture(scope="module")
def webservice() -> Iterator[WebhookServer]:
    server = WebhookServer().start()
    yield server
    server.stop()


class Calls:
    def __init__(self, witness: Witness, workdir: Path) -> None:
        self.witness = witness
        self.workdir = workdir
        self.claimed: set[str] = set()  # channels already taken by an earlier call

    async def place(self, name: str, line: str, caller: str, seconds: float) -> list[Any]:
        """Call ``line`` from ``caller``, who hangs up after ``seconds`` (or
        the line first); the events of the caller's channel in the app."""
        result = await sipp_call(
            line,
            "",
            wait_ms=200,
            workdir=self.workdir / name,
            caller=caller,
            hangup_after_ms=int(seconds * 1000),
        )
        assert result.returncode == 0, result.output
        created = await self.witness.wait_for(
            lambda e: (
                e["type"] == "ChannelCreated"
                and e["channel"]["caller"]["number"] == caller
                and e["channel"]["name"].startswith("PJSIP/")
                and e["channel"]["id"] not in self.claimed
            ),
            timeout=1,
        )
        self.claimed.add(created["channel"]["id"])
        return self.witness.on_channel(created["channel"]["id"])


def heard(events: list[Any]) -> list[str]:
    """The media URIs played to a channel, in order (of a playback of
    several, the first two: ARI names the one playing and the next)."""
    uris: list[str] = []
    for event in events:
        if event["type"] == "PlaybackStarted":
            playback = event["playback"]
            for uri in (playback["media_uri"], playback.get("next_media_uri")):
                if uri and uri not in uris[-2:]:  # a playback's next starts with its own event
                    uris.append(uri)
    return uris


def public_texts(app: AppProcess) -> list[Any]:
    return [e for e in app.entries() if e["event"] == "public text"]


def test_the_webservice_and_routes_drive_real_calls(
    live_app: AppProcess,
    ari: Ari,
    sandbox: Sandbox,
    spoken: SpokenPrompts,
    webservice: WebhookServer,
    tmp_path: Path,
) -> None:
    VIP_FILE.write_text(f"# the bank's VIPs\n+{VIP}\n")
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    deployment = build_deployment(settings, with_adapters=False)
    cache = deployment.tenants["integrate"].prompts.cache
    online = cache.chain.engines[0]
    assert isinstance(online, OnlineStandin)
    online.record.unlink(missing_ok=True)  # what the stand-in is asked from now on
    # A text in no catalogue, and never rendered before (by an earlier run).
    while cache.cached(normalize(webservice.announcement)) is not None:
        webservice.announcement = f"Lokata {secrets.randbelow(10**4)} procent."

    async def scenario() -> dict[str, list[Any]]:
        async with Witness(ari) as witness:
            calls = Calls(witness, tmp_path)

            async def news_twice() -> tuple[list[Any], list[Any]]:
                earlier = {e.get("call_id") for e in public_texts(live_app)}
                first = asyncio.ensure_future(
                    calls.place("news1", "140", NEWS_READER, NEWS_SECONDS)
                )
                # The second caller, once the first one's public text is rendered.
                await asyncio.to_thread(
                    live_app.wait_for,
                    lambda e: e["event"] == "public text" and e.get("call_id") not in earlier,
                    10,
                )
                second = await calls.place("news2", "140", NEWS_READER, NEWS_SECONDS)
                return await first, second

            news, *others = await asyncio.gather(
                news_twice(),
                calls.place("queue", "140", TO_QUEUE, 4.0),
                calls.place("line", "140", TO_LINE, 4.0),
                calls.place("goto", "140", KNOWN, 2.5),
                calls.place("vip", "143", VIP, 2.0),
                calls.place("nobody", "143", NOBODY, 2.0),
                calls.place("withheld", "143", "anonymous", 2.0),
                calls.place("night", "142", NIGHT, 2.5),
            )
            names = ["queue", "line", "goto", "vip", "nobody", "withheld", "night"]
            return {"news1": news[0], "news2": news[1], **dict(zip(names, others, strict=True))}

    events = asyncio.run(scenario())
    said = {name: heard(evs) for name, evs in events.items()}
    keys = {name: spoken.keys(uris) for name, uris in said.items()}

    # A public text: rendered by the bank's engines into the shared cache,
    # replayed from it on the second call.
    public = f"sound:{cache.base_path(normalize(webservice.announcement))}"
    assert said["news1"][0] == public and said["news2"][0] == public
    rendered = {
        e.get("call_id"): e["from_cache"] for e in live_app.entries() if e["event"] == "public text"
    }
    first, second = (events[name][0]["channel"]["id"] for name in ("news1", "news2"))
    assert rendered[first] is False and rendered[second] is True
    # A private text: spoken live into the call's own folder, in no cache.
    for name in ("news1", "news2"):
        channel = events[name][0]["channel"]["id"]
        assert said[name][1].startswith(f"sound:{deployment.live.root / channel}/")
        assert not (deployment.live.root / channel).exists()  # deleted at the call's end
    mine = normalize(private_text(NEWS_READER))
    # The bank's first engine is an online one (a stand-in recording every
    # text it is asked for): it rendered the public text, never the private one.
    assert not online.offline
    asked_online = [normalize(text) for text in requested(online.record)]
    assert normalize(webservice.announcement) in asked_online
    assert mine not in asked_online
    assert cache.cached(mine) is None
    assert all(not list(cache.root.glob(f"*/{cache.key(mine, e)}*")) for e in cache.chain.engines)
    # Each text was heard to its end: the webservice was asked again (and
    # answered nothing more: the flow goes on).
    asked = [(r["round"], r["event"]) for r in webservice.requests if r["caller"] == NEWS_READER]
    assert sorted(asked, key=str) == [(1, None), (1, None), (2, "done"), (2, "done")]

    # To the bank's queue: the agent answers.
    assert keys["queue"][0] == "transferring"
    live_app.wait_for(lambda e: e["event"] == "caller connected to agent", 5)
    # To the bank's other line: the call starts there again (its greeting).
    assert keys["line"][:3] == ["transferring", "greeting", "main_menu"]
    moved = events["line"][0]["channel"]["id"]
    lines = [
        e["line"]
        for e in live_app.entries()
        if e["event"] == "call started" and e.get("call_id") == moved
    ]
    assert lines == ["140", OTHER_LINE]
    # A known caller: straight into card blocking, the telekod asked at once.
    assert keys["goto"][0] == "ask_telekod_or_star"
    goto_rounds = [r for r in webservice.requests if r["caller"] == KNOWN]
    assert [r["round"] for r in goto_rounds] == [1]
    # route: the listed caller one way, anyone else the other.
    assert keys["vip"] == ["transferring"] and keys["nobody"] == ["goodbye"]
    assert keys["withheld"] == ["apology"]  # the "caller: withheld" branch
    # The night branch, outside the bank's hours, then the greeting.
    assert keys["night"][:2] == ["outside_hours", "greeting"]
    assert webservice.bad_signatures == 0 and webservice.invalid == []
