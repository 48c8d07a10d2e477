"""bench/load_report.py's whole-call figures: each app run against the
baselines of the same command and level, never another command's."""

import pytest

from bench.load_report import whole_call

pytestmark = pytest.mark.unit


def run(
    target: str, level: int, asterisk: float, app: float | None = None, date: str = "d1"
) -> dict[str, object]:
    row: dict[str, object] = {
        "date": date,
        "command": "bench/load.py --concurrency 50,200",
        "path": "balance",
        "concurrency": level,
        "target": target,
        "asterisk_cpu_ms_per_call": asterisk,
        "failed": 0,
        "attempted": 10,
        "reasons": {},
        "machine_steal_percent": 0.4,
    }
    if app is not None:
        row.update(
            app_cpu_ms_per_call=app, key_to_prompt_app={"p99_ms": 7.5}, core_cpu_ms_per_call=15.0
        )
    return row


def test_an_app_run_is_set_against_the_mean_of_its_commands_baselines_at_its_level() -> None:
    rows = [
        run("baseline", 200, 60.0),
        run("app-ws", 200, 66.0, 18.0),
        run("baseline", 200, 70.0),
        run("baseline", 50, 100.0),  # another level
        run("baseline", 200, 10.0, date="d2"),  # another command's run
        run("app-ws", 50, 100.0, 20.0),
    ]
    by_level = {w["concurrency"]: w for w in whole_call(rows)}
    at_200 = by_level[200]
    assert at_200["baselines"] == [60.0, 70.0] and at_200["baseline"] == 65.0
    assert at_200["whole_ratio"] == round((66.0 + 18.0) / 65.0, 2)  # 1.29
    assert at_200["app_ratio"] == round(18.0 / 65.0, 2)
    assert at_200["asterisk_ratio"] == round(66.0 / 65.0, 2)
    assert at_200["app_share_p99_ms"] == 7.5 and at_200["steal_percent"] == 0.4
    assert by_level[50]["whole_ratio"] == 1.2 and by_level[50]["baselines"] == [100.0]


def test_an_app_run_without_a_baseline_of_its_own_command_is_left_out() -> None:
    assert whole_call([run("app", 200, 66.0, 30.0), run("baseline", 200, 60.0, date="d2")]) == []


def test_the_floor_app_is_set_against_the_same_baselines_as_the_app() -> None:
    floor = run("ari-floor", 200, 64.0)
    floor["app_cpu_ms_per_call"] = 6.5  # the floor app's CPU; no app's share, no core
    rows = [
        run("baseline", 200, 60.0),
        floor,
        run("app-ws", 200, 66.0, 18.0),
        run("baseline", 200, 70.0),
    ]
    by_target = {w["target"]: w for w in whole_call(rows)}
    assert by_target["ari-floor"]["baseline"] == by_target["app-ws"]["baseline"] == 65.0
    assert by_target["ari-floor"]["app_ratio"] == 0.1
    assert by_target["ari-floor"]["app_share_p99_ms"] is None
