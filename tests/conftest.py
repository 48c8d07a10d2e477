"""Shared fixtures. Tests marked ``asterisk`` run against the real Asterisk
sandbox, which starts once per test run, and a real ``infolinia run`` process
that reaches ARI through a proxy the tests can cut."""

import asyncio
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.sandbox import ARI_URL, Sandbox
from devtools.simulator import CallSimulator
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from tests.support.app_process import AppProcess
from tests.support.ari_client import Ari
from tests.support.proxy import AriProxy
from tests.support.reference_core import SECRET as CORE_SECRET
from tests.support.webhook_server import SECRET as WEBHOOK_SECRET
from voice.fragments import fragment_keys
from voice.polish import digit_words

TEST_CONFIG = Path(__file__).parent / "data" / "config" / "infolinia.yaml"
# The audit trail's key for this test run (never a file in the repository).
TEST_AUDIT_KEY = secrets.token_hex(32)
# The test config names an engine of this plugin (the online stand-in): the
# tests' own in-process deployments load it as the app does.
TEST_PLUGINS = "tests.support.online_standin"
os.environ["INFOLINIA_PLUGINS"] = TEST_PLUGINS  # for session fixtures too

# The testkit's tests run pytest inside pytest (tests/test_testkit.py).
# tests/support/stores.py: each test's state store, on SQLite and on PostgreSQL.
# tests/support/cluster.py: the cluster (cluster2), started once for every module using it.
# tests/support/real_records.py: four real calls whose records the records and
# reports tests read (placed), once per run.
pytest_plugins = [
    "pytester",
    "tests.support.stores",
    "tests.support.cluster",
    "tests.support.real_records",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not any(item.iter_markers(name) for name in ("unit", "asterisk")):
            raise pytest.UsageError(f"{item.nodeid} is marked neither unit nor asterisk")


@pytest.fixture(scope="session")
def test_settings_file() -> Path:
    return TEST_CONFIG


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    box = Sandbox.default(prompt_dir=settings.voice.cache_dir)
    was_running = box.pid() is not None
    box.up()
    yield box
    if not was_running:
        box.down()


@pytest.fixture(scope="session")
def ari(sandbox: Sandbox) -> Ari:
    return Ari(ARI_URL, "infolinia", sandbox.ari_password())


@pytest.fixture(scope="session")
def proxy(sandbox: Sandbox) -> Iterator[AriProxy]:
    proxy = AriProxy(8088).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def app(
    sandbox: Sandbox, proxy: AriProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppProcess]:
    log = tmp_path_factory.mktemp("app") / "app.log"
    # A fresh state store per run: prompt edits of an earlier run must not leak in.
    state = load_settings(TEST_CONFIG, resolve_secrets=False, env={}).state
    assert isinstance(state, Path)  # the test config's store is a file
    for leftover in [*state.parent.glob(state.name + "*"), *state.parent.glob("audit-heads*")]:
        leftover.unlink()
    env = {
        "INFOLINIA_ARI_URL": proxy.url,
        "INFOLINIA_ARI_PASSWORD": sandbox.ari_password(),
        "INFOLINIA_TEST_WEBHOOK_SECRET": WEBHOOK_SECRET.decode(),
        "INFOLINIA_WEBHOOK_SECRET": WEBHOOK_SECRET.decode(),  # config/flows/bank.yaml's
        "INFOLINIA_TEST_CORE_SECRET": CORE_SECRET.decode(),
        "INFOLINIA_PLUGINS": f"tests.support.faulty_adapters,{TEST_PLUGINS}",
        "INFOLINIA_AUDIT_KEY": TEST_AUDIT_KEY,
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),  # for that module
    }
    process = AppProcess(TEST_CONFIG, env, log).start()
    yield process
    process.stop()


@pytest.fixture
def live_app(app: AppProcess, ari: Ari) -> AppProcess:
    """The app, connected (restarting it if an earlier test killed it)."""
    return connected(app, ari)


def connected(app: AppProcess, ari: Ari) -> AppProcess:
    """``app``, restarted if an earlier test killed it, once registered with ARI
    (for fixtures wider than one test, which cannot use ``live_app``)."""
    if app.proc is None or app.proc.poll() is not None:
        app.start()
    asyncio.run(wait_registered(ari, "infolinia"))
    return app


async def wait_registered(ari: Ari, name: str, timeout: float = 20) -> None:
    for _ in range(int(timeout / 0.1)):
        if await ari.app_registered(name):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"Stasis app {name} did not register within {timeout}s")


class SpokenPrompts:
    """Maps media URIs the app plays back to the prompt keys of the test config."""

    def __init__(self) -> None:
        settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
        book = build_deployment(settings, with_adapters=False).tenants["echo"].prompts
        self.uri = book.media_uris()
        self.text = book.texts
        self._key = {uri: key for key, uri in self.uri.items()}

    def keys(self, uris: list[str]) -> list[str]:
        return [self._key.get(uri, f"?{uri}") for uri in uris]


def spoken_keys(keys: str) -> list[str]:
    """The fragment prompt keys that read ``keys`` back one by one."""
    return fragment_keys(digit_words(keys))


@pytest.fixture(scope="session")
def spoken() -> SpokenPrompts:
    return SpokenPrompts()


@pytest.fixture
def simulator(live_app: AppProcess, sandbox: Sandbox) -> CallSimulator:
    """Places calls like ``infolinia call``, in-process, mapping prompts to texts."""
    return call_simulator(sandbox)


def call_simulator(sandbox: Sandbox) -> CallSimulator:
    settings = load_settings(TEST_CONFIG, env={"INFOLINIA_ARI_PASSWORD": sandbox.ari_password()})
    heard = build_deployment(settings, with_adapters=False).heard_texts()
    return CallSimulator(settings.ari, heard)


@pytest.fixture
def talent(tmp_path: Path) -> bytes:
    """A "voice talent's" recording (for the upload tests): espeak-ng at 22 kHz,
    as a studio would not do."""
    wav = tmp_path / "talent.wav"
    subprocess.run(
        ["espeak-ng", "-v", "pl", "-w", str(wav), "Dzień dobry, tu nagranie lektora."],
        check=True,
    )
    return wav.read_bytes()


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's INFOLINIA_* variables must not change what tests see.
    for name in list(os.environ):
        if name.startswith("INFOLINIA_") and name != "INFOLINIA_SANDBOX_DIR":
            monkeypatch.delenv(name)
    monkeypatch.setenv("INFOLINIA_AUDIT_KEY", TEST_AUDIT_KEY)
    monkeypatch.setenv("INFOLINIA_PLUGINS", TEST_PLUGINS)
