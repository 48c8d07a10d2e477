"""The consultant queue's parts without Asterisk: Polish words for places and
minutes, the wait estimate and its rounding, the announcement's prompt keys,
the agents' ring order, callback requests, and the config checks."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stasis_app.config import load_prompt_texts, load_settings
from stasis_app.deployment import build_deployment
from stasis_app.errors import ConfigError
from stasis_app.queue.agents import AgentPool
from stasis_app.queue.callbacks import CallbackBook
from stasis_app.queue.estimate import HandleTimes, estimate_wait, spoken_minutes
from stasis_app.queue.speech import QUEUE_PROMPTS, announcement_keys, wait_keys, whisper_keys
from stasis_app.store import Store
from tests.conftest import TEST_CONFIG
from voice.fragments import fragment_texts
from voice.polish import FRAGMENT_WORDS, minutes_words, position_words

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parent.parent


class ManualClock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.mark.parametrize(
    ("place", "words"),
    [
        (1, "pierwszą"),
        (2, "drugą"),
        (3, "trzecią"),
        (12, "dwunastą"),
        (20, "dwudziestą"),
        (21, "dwudziestą pierwszą"),
        (45, "czterdziestą piątą"),
        (99, "dziewięćdziesiątą dziewiątą"),
    ],
)
def test_a_place_in_the_queue_is_a_feminine_instrumental_ordinal(place: int, words: str) -> None:
    assert " ".join(position_words(place)) == words


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        (2, "dwóch minut"),
        (4, "czterech minut"),
        (5, "pięciu minut"),
        (15, "piętnastu minut"),
        (21, "dwudziestu jeden minut"),
        (25, "dwudziestu pięciu minut"),
        (60, "sześćdziesięciu minut"),
    ],
)
def test_minutes_after_okolo_are_in_the_genitive(minutes: int, words: str) -> None:
    assert " ".join(minutes_words(minutes)) == words


def test_places_and_minutes_outside_their_range_are_refused() -> None:
    for bad in (0, 100):
        with pytest.raises(ValueError):
            position_words(bad)
    for bad in (1, 100):
        with pytest.raises(ValueError):
            minutes_words(bad)


def test_the_estimate_goes_by_place_agents_and_call_length() -> None:
    assert estimate_wait(1, 1, 120) == 60  # half a call: the agent is mid-call
    assert estimate_wait(2, 1, 120) == 180
    assert estimate_wait(3, 2, 100) == 150  # the second wave with two agents
    assert estimate_wait(4, 2, 100) == 150
    assert estimate_wait(5, 2, 100) == 250
    assert estimate_wait(1, 0, 100) == 50  # nobody logged in counts as one
    with pytest.raises(ValueError):
        estimate_wait(0, 1, 100)


def test_handle_times_start_from_the_setting_then_follow_recent_calls() -> None:
    times = HandleTimes(default=180, keep=3)
    assert times.mean() == 180
    for seconds in (60, 120, 90, 30):
        times.add(seconds)
    assert len(times) == 3 and times.mean() == 80  # the oldest (60) fell out


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(0, 0), (59, 0), (60, 1), (61, 2), (600, 10), (601, 15), (1500, 25), (3600, 60), (3601, 61)],
)
def test_the_wait_is_said_in_minutes_then_fives(seconds: float, said: int) -> None:
    assert spoken_minutes(seconds) == said


def test_the_announcement_is_place_wait_and_the_callback_offer() -> None:
    assert announcement_keys(3, 150) == [
        "queue_you_are",
        "w_trzecia,",  # the sentence goes on: its continuing rendering
        "queue_person_in_line",
        "queue_wait_about",
        "w_trzech,",
        "w_minut",  # the last word of the sentence: its final rendering
        "queue_callback_offer",
    ]
    assert announcement_keys(120, 30)[:2] == ["queue_many_ahead", "queue_wait_under_minute"]
    assert wait_keys(60) == ["queue_wait_about_minute"]
    assert wait_keys(4000) == ["queue_wait_over_hour"]


def test_every_word_an_announcement_can_use_is_a_rendered_fragment() -> None:
    fragments = set(fragment_texts(FRAGMENT_WORDS))
    keys = {k for place in range(1, 101) for k in announcement_keys(place, 0)}
    keys |= {k for seconds in range(0, 4000, 7) for k in wait_keys(seconds)}
    assert {k for k in keys if k.startswith("w_")} <= fragments


def test_the_whisper_says_the_bank_and_how_the_caller_logged_in() -> None:
    assert whisper_keys("authenticated") == ["tenant_name", "agent_whisper_authenticated"]
    assert whisper_keys("identified") == ["tenant_name", "agent_whisper_identified"]
    assert whisper_keys(None) == ["tenant_name", "agent_whisper_anonymous"]


def test_every_queue_prompt_is_in_both_catalogues() -> None:
    for catalogue in (REPO / "config/prompts/pl.yaml", TEST_CONFIG.parent / "prompts-short.yaml"):
        assert set(QUEUE_PROMPTS) <= set(load_prompt_texts(catalogue)), catalogue


def test_the_longest_idle_agent_is_rung_first_and_a_miss_goes_to_the_back() -> None:
    clock = ManualClock()
    pool = AgentPool(["PJSIP/a", "PJSIP/b", "PJSIP/c"], clock=clock)
    a, b, c = pool.agents
    assert pool.free() is a  # all idle since the start: config order
    pool.ringing(a)
    pool.answered(a)
    assert pool.free() is b
    clock.advance(5)
    pool.missed(b)  # idle again, but only since now
    assert pool.free() is c
    assert pool.free(exclude={"PJSIP/c"}) is b
    clock.advance(10)
    pool.finished(a, wrap_up=3)
    assert a.state == "wrap_up" and pool.next_free_at() == clock() + 3
    clock.advance(3)
    pool.ringing(c)
    pool.ringing(b)
    # mypy keeps the narrowing of a.state from the assert above across the calls that change it
    assert pool.free() is a and a.state == "idle"  # type: ignore[comparison-overlap]


def test_in_order_rings_the_first_listed_free_agent() -> None:
    clock = ManualClock()
    pool = AgentPool(["PJSIP/a", "PJSIP/b"], strategy="in_order", clock=clock)
    clock.advance(5)
    pool.missed(pool.agents[0])
    assert pool.free() is pool.agents[0]


async def test_pjsip_agents_without_a_registration_are_logged_out() -> None:
    pool = AgentPool(["PJSIP/a", "PJSIP/b", "Local/x@ctx/n"], clock=ManualClock())
    states = {"PJSIP/a": "online", "PJSIP/b": "offline"}

    async def state_of(endpoint: str) -> str | None:
        return states.get(endpoint)

    await pool.refresh_presence(state_of, force=True)
    assert [agent.logged_in for agent in pool.agents] == [True, False, True]
    assert pool.logged_in() == 2
    assert pool.free(exclude={"PJSIP/a", "Local/x@ctx/n"}) is None


def test_callbacks_keep_the_callers_place_and_are_marked_done(tmp_path: Path) -> None:
    book = CallbackBook(Store(tmp_path / "state.sqlite"))
    now = datetime.now(UTC)
    late = book.add("izbica", "main", "600111222", waiting_since=now)
    early = book.add(
        "izbica", "main", "600333444", customer="12345678", level="authenticated",
        waiting_since=now - timedelta(minutes=3),
    )  # fmt: skip
    book.add("cieszyn", "main", "600555666")
    assert [c.id for c in book.list("izbica")] == [early, late]
    assert len(book.list("*")) == 3
    assert not book.mark_done(early, "anna", tenant="cieszyn")  # another bank's staff
    assert book.mark_done(early, "anna", tenant="izbica") and not book.mark_done(early, "anna")
    assert [c.id for c in book.list("izbica")] == [late]
    assert book.list("izbica", state="done")[0].done_by == "anna"


def _config(tmp_path: Path, tenant_extra: str, flow_extra: str = "") -> Path:
    flow = tmp_path / "flow.yaml"
    flow.write_text(
        "initial: consultant\nstates:\n  consultant:\n    verb: transfer\n"
        f"    params: {{prompt: [transferring]{flow_extra}}}\n    on: {{failed: bye}}\n"
        "  bye:\n    verb: hangup\n    params: {prompt: [goodbye]}\n",
        encoding="utf-8",
    )
    config = tmp_path / "infolinia.yaml"
    config.write_text(
        f"prompts: {REPO / 'config/prompts/pl.yaml'}\nvoice: {{cache_dir: {tmp_path}/cache}}\n"
        "tenants:\n  izbica:\n    name: Izbica\n    lines: ['100']\n    flow: flow.yaml\n"
        f"    adapter: {{name: demo, settings: {{database: {tmp_path}/bank.sqlite}}}}\n"
        + tenant_extra,
        encoding="utf-8",
    )
    return config


@pytest.mark.parametrize(
    ("tenant_extra", "flow_extra", "field", "words"),
    [
        (
            "    consultant: {queue: main}\n",
            "",
            "tenants.izbica",
            "consultant.queue 'main' is not one of queues (none defined)",
        ),
        (
            "    queues: {main: {agents: ['anna']}}\n",
            "",
            "tenants.izbica.queues.main.agents",
            "'anna' is not an endpoint like PJSIP/anna",
        ),
        (
            "    queues: {main: {agents: [PJSIP/a, PJSIP/a]}}\n",
            "",
            "tenants.izbica.queues.main.agents",
            "listed twice",
        ),
        (
            "    queues: {main: {agents: [PJSIP/a], music_class: 'a b'}}\n",
            "",
            "tenants.izbica.queues.main.music_class",
            "should match pattern",
        ),
        (
            "    queues: {main: {agents: [PJSIP/a]}}\n",
            ", queue: other",
            "tenants.izbica.queues",
            "transfers to queue 'other', which is not defined",
        ),
    ],
)
def test_queue_config_errors_name_the_field(
    tmp_path: Path, tenant_extra: str, flow_extra: str, field: str, words: str
) -> None:
    config = _config(tmp_path, tenant_extra, flow_extra)
    with pytest.raises(ConfigError) as caught:
        build_deployment(load_settings(config, env={"INFOLINIA_ARI_PASSWORD": "x"}))
    assert caught.value.field == field, caught.value
    assert words in caught.value.problem


def test_a_tenant_with_a_queue_gets_its_name_as_the_whisper_prompt(tmp_path: Path) -> None:
    config = _config(
        tmp_path, "    consultant: {queue: main}\n    queues: {main: {agents: [PJSIP/a]}}\n"
    )
    settings = load_settings(config, env={"INFOLINIA_ARI_PASSWORD": "x"})
    deployment = build_deployment(settings, with_adapters=False)
    ((tenant, book),) = deployment.queue_tenants()
    assert tenant.id == "izbica" and book.texts["tenant_name"] == "Izbica"
