"""A vendor's plugin, packaged on its own (examples/infolinia-adapter-example:
an adapter, a TTS engine and a verb), installed with pip into a fresh
environment, found by ``infolinia adapters list``, passing the testkit, and
serving a real call once a bank names all three in its config."""

import asyncio
import json
import os
import shutil
import site
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from devtools.sandbox import Sandbox
from devtools.simulator import CallSimulator
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from tests.support.app_process import AppProcess
from tests.support.standalone_config import standalone_config
from tests.test_testkit import CHECKS, OPTIONAL_CHECKS
from voice.polish import amount_words

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "infolinia-adapter-example"
LINE = "100"  # the only line of the bank in this test's config


@pytest.fixture(scope="module")
def vendor_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment that sees infolinia (as installed here) and
    gets the example plugin with pip, as a bank's operator would install it."""
    root = tmp_path_factory.mktemp("vendor")
    env = root / "venv"
    package = shutil.copytree(EXAMPLE, root / EXAMPLE.name)  # pip builds in the tree
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # infolinia and its dependencies come from this environment (no network here).
    ours = site.getsitepackages()[0]
    Path(purelib, "infolinia-host.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    # pip builds the package in isolation, as on a bank's server (setuptools
    # comes from the package registry; infolinia is already installed).
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", str(package)],
        check=True,
        capture_output=True,
        text=True,
    )
    return python


def infolinia(python: Path, *args: str) -> str:
    return subprocess.run(
        [str(python), "-m", "stasis_app", *args], check=True, capture_output=True, text=True
    ).stdout


@pytest.mark.unit
def test_pip_installed_plugin_is_listed_with_its_package(vendor_env: Path) -> None:
    listed = {a["name"]: a for a in json.loads(infolinia(vendor_env, "adapters", "list", "--json"))}
    assert listed["example"]["package"] == "infolinia-adapter-example"
    assert listed["example"]["version"] == "0.1.0"
    assert listed["demo"]["package"] == "infolinia"
    # ...and only in the environment it was installed into.
    ours = subprocess.run(
        [sys.executable, "-m", "stasis_app", "adapters", "list", "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "example" not in {a["name"] for a in json.loads(ours)}


@pytest.mark.unit
def test_the_vendor_runs_the_testkit_on_the_installed_plugin(
    vendor_env: Path, tmp_path: Path
) -> None:
    """The vendor's own check, as the example's README says: every rule holds."""
    result = subprocess.run(
        [
            str(vendor_env),
            "-m",
            "pytest",
            "-p",
            "adapters.testkit",
            "--adapter=example",
            f"--adapter-config={EXAMPLE / 'testkit.yaml'}",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=tmp_path,
        # The vendor's environment: none of our tests' plugins (tests/conftest.py).
        env={name: value for name, value in os.environ.items() if name != "INFOLINIA_PLUGINS"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # It offers one optional operation (exchange_rates): the others' checks skip.
    offered = {"test_exchange_rates_are_positive_decimals_per_currency"}
    skipped = len(OPTIONAL_CHECKS - offered)
    assert f"{len(CHECKS) - skipped} passed, {skipped} skipped" in result.stdout


@pytest.fixture
def bank_config(tmp_path: Path) -> Path:
    """The test deployment's settings with one bank, which names the example's
    adapter, its voice and (in its copy of the shipped flow) its verb."""
    shipped = (REPO / "config" / "flows" / "bank.yaml").read_text(encoding="utf-8")
    greeting = "  greeting:\n    verb: language\n"
    assert greeting in shipped
    flow = tmp_path / "bank.yaml"
    flow.write_text(
        shipped.replace(greeting, "  greeting:\n    verb: example-announce\n"), encoding="utf-8"
    )
    config = standalone_config(
        tmp_path,
        tenants={
            "przyklad": {
                "name": "Bank Przykładowy",
                "lines": [LINE],
                "flow": str(flow),
                "prompts": {"greeting": "Przykład."},
                # The only change a bank makes (and its flow naming the verb):
                "adapter": {"name": "example", "settings": {"bank_name": "Bank Przykładowy"}},
                "voice": {"engines": [{"name": "example-voice", "settings": {"speed": 140}}]},
            }
        },
    )
    path = tmp_path / "infolinia.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


@pytest.fixture
def example_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example's plugin in this process too (by module name, unpackaged),
    so that this side builds the bank's deployment as the vendor's app does."""
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    monkeypatch.setenv("INFOLINIA_PLUGINS", "infolinia_adapter_example.plugin")


@pytest.mark.unit
@pytest.mark.usefixtures("example_loaded")
def test_a_bank_config_uses_the_plugins_adapter_voice_and_verb(bank_config: Path) -> None:
    settings = load_settings(bank_config, resolve_secrets=False, env={})
    served = build_deployment(settings).tenants["przyklad"]
    assert served.flow.states["greeting"].verb.name == "example-announce"
    assert served.prompts.cache.chain.engines[0].identity.startswith("example-voice")
    assert type(served.bank.adapter).__name__ == "ExampleBank"


@pytest.fixture
def vendor_app(
    vendor_env: Path, bank_config: Path, app: AppProcess, sandbox: Sandbox, tmp_path: Path
) -> Iterator[AppProcess]:
    """The app run from the vendor environment, in place of the tests' own app
    (both would register the same Stasis app); the next test restarts ours."""
    app.stop()
    env = {"INFOLINIA_ARI_PASSWORD": sandbox.ari_password()}
    process = AppProcess(bank_config, env, tmp_path / "app.log", python=str(vendor_env)).start()
    yield process
    process.stop()


@pytest.mark.asterisk
@pytest.mark.usefixtures("example_loaded")
def test_a_real_call_is_served_by_the_installed_plugin(
    vendor_app: AppProcess, bank_config: Path, sandbox: Sandbox
) -> None:
    settings = load_settings(bank_config, env={"INFOLINIA_ARI_PASSWORD": sandbox.ari_password()})
    deployment = build_deployment(settings, with_adapters=False)
    texts = deployment.tenants["przyklad"].prompts.texts
    simulator = CallSimulator(settings.ari, deployment.heard_texts())
    transcript = asyncio.run(
        simulator.call(
            LINE, ["2", "55501234", "2468#"], quiet_gap=0.3, timeout=120, hangup_after=1.5
        )
    )
    said = [step.text for step in transcript.steps if step.kind == "prompt"]
    assert said[0] == "Przykład."
    at = said.index(texts["balance_is"])
    # 87,05 zł: the example core's balance, not the demo bank's.
    balance = amount_words(Decimal("87.05"))
    assert said[at + 1 : at + 1 + len(balance)] == balance
    vendor_app.wait_for(lambda e: e.get("event") == "call ended", 10)
