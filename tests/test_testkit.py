"""The adapter testkit (``pytest -p adapters.testkit``): it passes on the demo
adapter and catches an adapter that breaks any one rule, naming that rule."""

import hashlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import adapters.demo
from adapters.demo import DemoSettings
from tests.support.broken_adapters import BROKEN
from tests.support.reference_core import SECRET as CORE_SECRET
from tests.support.reference_core import ReferenceCoreThread

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "tests" / "data" / "testkit" / "demo.yaml"

CHECKS = {
    "test_two_blocks_of_one_target_at_once_give_one_block_and_one_reference",
    "test_adapter_is_core_banking_with_async_methods",
    "test_authenticate_returns_the_customer",
    "test_identify_returns_the_customer",
    "test_unknown_customer_is_refused_at_login",
    "test_wrong_pin_or_birth_date_is_refused",
    "test_refusals_do_not_say_what_was_wrong",
    "test_pin_and_birth_date_never_come_back",
    "test_cards_are_typed",
    "test_card_numbers_are_masked",
    "test_accounts_have_decimal_balances_and_iso_currencies",
    "test_operations_are_typed_with_positive_decimal_amounts",
    "test_operations_are_newest_first",
    "test_operations_respect_the_limit",
    "test_blocking_says_whether_it_was_blocked_already",
    "test_blocking_a_card_twice_with_one_operation_id_blocks_it_once",
    "test_blocking_internet_banking_twice_with_one_operation_id_blocks_it_once",
    "test_block_references_are_digits",
    "test_an_operation_id_is_not_reused_for_another_block",
    "test_blocking_an_unknown_card_is_not_found",
    "test_an_unknown_customer_has_no_cards_accounts_or_blocks",
    "test_odd_input_raises_only_adapter_errors",
    "test_close_returns_quietly",
}
# The checks of the optional operations (adapters.spec.OptionalOperation): an
# adapter that offers none (the webservice adapter without its settings) skips them.
OPTIONAL_CHECKS = {
    "test_account_list_gives_kind_last_digits_and_currency",
    "test_account_balance_gives_decimal_balance_and_available_funds",
    "test_account_operations_are_typed_newest_first_and_limited",
    "test_another_accounts_balance_and_operations_are_not_found",
    "test_exchange_rates_are_positive_decimals_per_currency",
    "test_bank_information_is_a_short_text_or_none",
    "test_change_telekod_takes_the_new_one_and_refuses_a_wrong_old_one",
    "test_predefined_transfers_are_typed",
    "test_execute_transfer_once_per_operation_id_and_only_as_ordered",
}
CHECKS |= OPTIONAL_CHECKS | {"test_offered_operations_are_async_methods"}

# How this repository runs pytest; a vendor's project may set none of it.
# (Like pyproject.toml, it lets ResourceWarnings pass: the kit runs in this
# process, where another test's leftovers may be collected meanwhile.)
STRICT_INI = """
[pytest]
addopts = --strict-markers
xfail_strict = true
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings =
    error
    ignore::ResourceWarning
"""
VENDOR_INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
"""


@pytest.fixture(autouse=True)
def _quick_demo_logins(monkeypatch: pytest.MonkeyPatch) -> None:
    # The demo bank's scrypt takes most of a kit run's time (some 40 logins),
    # and these tests run the kit thirty times; the subprocess run keeps scrypt.
    monkeypatch.setattr(
        adapters.demo, "_hash", lambda secret, salt: hashlib.sha256(salt + secret.encode()).digest()
    )


@dataclass
class KitRun:
    passed: set[str]
    skipped: set[str]
    failed: dict[str, str]  # check -> its failure report
    ret: int | None


def run_kit(
    pytester: pytest.Pytester, adapter: str, *args: str, config: Path = DEMO_CONFIG
) -> KitRun:
    """The kit, run in-process the way a vendor runs it (no test paths given)."""
    recorder = pytester.inline_run(
        "-p", "adapters.testkit", f"--adapter={adapter}", f"--adapter-config={config}", *args
    )
    passed, skipped, failed = recorder.listoutcomes()

    def check(report: pytest.TestReport | pytest.CollectReport) -> str:
        return report.nodeid.rsplit("::", 1)[-1]

    return KitRun(
        {check(r) for r in passed},
        {check(r) for r in skipped},
        {check(r): str(r.longrepr) for r in failed},
        recorder.ret,
    )


@pytest.mark.parametrize("ini", [VENDOR_INI, STRICT_INI], ids=["vendor-ini", "strict-ini"])
def test_the_demo_adapter_passes_every_check(pytester: pytest.Pytester, ini: str) -> None:
    pytester.makeini(ini)
    run = run_kit(pytester, "demo")
    assert run.failed == {}
    assert run.skipped == set()
    assert run.passed == CHECKS
    assert run.ret == 0


def test_the_webservice_adapter_passes_every_check(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """Against the reference server of its contract, over real HTTP."""
    core = ReferenceCoreThread(
        DemoSettings(database=tmp_path / "bank.sqlite", tenant="testkit"), port=0
    ).start()
    try:
        (tmp_path / "key").write_bytes(CORE_SECRET)
        config = tmp_path / "webservice.yaml"
        demo = yaml.safe_load(DEMO_CONFIG.read_text())
        settings = {
            "base_url": f"http://127.0.0.1:{core.port}/",
            "secret_file": str(tmp_path / "key"),
            "accounts_detail": True,  # the reference core has the optional reads
            "exchange_rates": True,
            "change_telekod": True,  # and the optional writes
            "predefined_transfers": True,
        }
        config.write_text(yaml.safe_dump({**demo, "settings": settings}))
        pytester.makeini(STRICT_INI)
        run = run_kit(pytester, "webservice", config=config)
    finally:
        core.stop()
    assert run.failed == {}
    # The webservice contract has every optional operation but the information text.
    assert run.skipped == {"test_bank_information_is_a_short_text_or_none"}
    assert run.passed == CHECKS - run.skipped and run.ret == 0


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_the_kit_fails_the_check_of_the_broken_rule(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    pytester.makeini(STRICT_INI)
    monkeypatch.setenv("INFOLINIA_PLUGINS", "tests.support.broken_adapters")
    run = run_kit(pytester, name)
    assert set(run.failed) == set(BROKEN[name].caught_by), BROKEN[name].rule
    assert run.passed == CHECKS - set(run.failed) and run.skipped == set()
    for check, report in run.failed.items():
        # The check's own assertion caught it, not a crash in the kit.
        assert "AssertionError" in report, f"{check}:\n{report}"


def test_every_check_is_proven_to_catch_a_broken_adapter() -> None:
    caught = {check for broken in BROKEN.values() for check in broken.caught_by}
    # Every other check logs in with authenticate: when it returns someone else,
    # they all fail, so no adapter breaks that rule alone.
    assert CHECKS - caught == {"test_authenticate_returns_the_customer"}


def test_paths_given_on_the_command_line_are_collected_too(pytester: pytest.Pytester) -> None:
    pytester.makeini(VENDOR_INI)
    pytester.makepyfile(test_mine="def test_mine():\n    pass\n")
    run = run_kit(pytester, "demo", "test_mine.py")
    assert run.passed == CHECKS | {"test_mine"}


def test_without_adapter_the_plugin_collects_nothing_of_its_own(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(VENDOR_INI)
    pytester.makepyfile(test_mine="def test_mine():\n    pass\n")
    recorder = pytester.inline_run("-p", "adapters.testkit")
    recorder.assertoutcome(passed=1)


@pytest.mark.parametrize(
    ("config", "args", "says"),
    [
        (None, ("--adapter=demo",), "needs both --adapter and --adapter-config"),
        ("customer: {number: '1', pin: '1', birth_date: 1950-02-01}", ("--adapter=ibs",),
         "no adapter named 'ibs' (installed: demo"),
        ("customer: {number: '1', pin: 1234, birth_date: 1950-02-01}", ("--adapter=demo",),
         "customer.pin: Input should be a valid string"),
        ("customer: {number: '1', pin: '1'}", ("--adapter=demo",),
         "customer.birth_date: Field required"),
        ("settings: [", ("--adapter=demo",), "while parsing"),
    ],
)  # fmt: skip
def test_a_wrong_command_line_or_config_is_a_usage_error(
    pytester: pytest.Pytester, config: str | None, args: tuple[str, ...], says: str
) -> None:
    pytester.makeini(VENDOR_INI)
    if config is not None:
        args = (*args, f"--adapter-config={pytester.makefile('.yaml', kit=config)}")
    result = pytester.runpytest("-p", "adapters.testkit", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert says in result.stderr.str()


def test_settings_the_adapter_refuses_stop_the_run_with_the_field(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(VENDOR_INI)
    config = pytester.makefile(
        ".yaml",
        kit="settings: {tenant: x}\ncustomer: {number: '1', pin: '1', birth_date: 1950-02-01}",
    )
    result = pytester.runpytest(
        "-p", "adapters.testkit", "--adapter=demo", f"--adapter-config={config}"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*adapter 'demo' cannot be set up*adapter_settings.database*"])


def test_a_hanging_adapter_fails_the_check_within_the_timeout(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(VENDOR_INI)
    monkeypatch.setenv("INFOLINIA_PLUGINS", "tests.support.faulty_adapters")
    config = pytester.makefile(".yaml", kit=DEMO_CONFIG.read_text() + "timeout: 0.2\n")
    result = pytester.runpytest(
        "-p", "adapters.testkit", "--adapter=hanging", f"--adapter-config={config}",
        "-k", "test_close_returns_quietly",
    )  # fmt: skip
    result.assert_outcomes(failed=1, deselected=len(CHECKS) - 1)
    result.stdout.fnmatch_lines(["*did not finish within 0.2s*the adapter hangs*"])


def test_the_documented_command_runs_in_this_repository(tmp_path: Path) -> None:
    """As docs/writing-an-adapter.md says, with this repository's pytest settings
    and its conftest.py (which would refuse the checks as unmarked tests)."""
    command = [sys.executable, "-m", "pytest", "-p", "adapters.testkit", "--adapter=demo"]
    result = subprocess.run(
        [
            *command,
            "--adapter-config=tests/data/testkit/demo.yaml",
            *("-q", "-p", "no:cacheprovider", f"--basetemp={tmp_path / 'kit'}"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(CHECKS)} passed" in result.stdout


def test_a_plugin_that_also_registers_an_engine_and_a_verb_passes_the_kit(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kit loads plugins with the app's own manager: a vendor's plugin module
    that gives an adapter, a voice and a verb is no "unknown hook" to it."""
    pytester.makeini(STRICT_INI)
    monkeypatch.setenv("INFOLINIA_PLUGINS", "tests.support.three_kinds_plugin")
    run = run_kit(pytester, "vendor-demo")
    assert run.failed == {}
    assert run.skipped == OPTIONAL_CHECKS  # its factory offers no optional operation
    assert run.passed == CHECKS - OPTIONAL_CHECKS and run.ret == 0
