"""The load benchmark's table (Markdown) and plot (PNG) from bench/load.py's
--out files: app against the pure-dialplan baseline of the same run
(targets ``app``: demo core in the app's process; ``app-ws``: the bank core
in a process of its own, its CPU in the "core" column; ``ari-floor``: the
least Python ARI app on the same path, bench/ari_floor_app.py).

    .venv/bin/python bench/load_report.py RESULTS.jsonl [...] [--png docs/performance-load.png]
        [--memory-png docs/performance-memory.png]
    .venv/bin/python bench/load_report.py RESULTS.jsonl --whole-call [--whole-call-png PNG]

``--whole-call``: the whole machine's CPU a call (Asterisk and the app)
against the baseline's Asterisk of the same command and level (the mean of
its baseline runs, so a baseline run before and after the app's brackets
it), every run listed; with the targets of issue 24 drawn in the plot.

The plot needs matplotlib (the dev extras).
"""

import argparse
import json
from pathlib import Path
from typing import Any

Row = dict[str, Any]


def load(files: list[Path], every_run: bool = False) -> list[Row]:
    rows = [json.loads(line) for f in files for line in f.read_text().splitlines() if line]
    if every_run:
        return rows
    latest: dict[tuple[str, str, int], Row] = {}
    for row in rows:  # a level run again replaces the earlier one
        latest[(row["target"], row["path"], row["concurrency"])] = row
    return sorted(latest.values(), key=lambda r: (r["path"], r["concurrency"], r["target"]))


def _failed(row: Row) -> str:
    text = f"{row['failed']} of {row['attempted']}"
    reasons = dict(row["reasons"])
    reasons.update(row.get("app_wrong_endings") or {})
    if reasons:
        text += " (" + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) + ")"
    return text


def table(rows: list[Row]) -> str:
    head = (
        "| path | calls in progress | target | calls ok | failed | Asterisk CPU ms/call"
        " (ratio to baseline) | app CPU ms/call (ratio to baseline's Asterisk)"
        " | core CPU ms/call | app peak RSS MB | app kB per call"
        " | key to prompt p50 / p95 / p99 ms |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    base = {(r["path"], r["concurrency"]): r for r in rows if r["target"] == "baseline"}
    for r in rows:
        b = base.get((r["path"], r["concurrency"]))
        ast = r["asterisk_cpu_ms_per_call"]
        ratio = f" ({ast / b['asterisk_cpu_ms_per_call']:.2f})" if b else ""
        app = peak = per_call = wait = "-"
        core = str(r.get("core_cpu_ms_per_call", "-"))
        if r["target"] in ("app", "app-ws"):
            app = f"{r['app_cpu_ms_per_call']}"
            if b:
                app += f" ({r['app_cpu_ms_per_call'] / b['asterisk_cpu_ms_per_call']:.2f})"
            peak, per_call = str(r["app_peak_rss_mb"]), str(r.get("app_kb_per_active_call", "-"))
            k = r["key_to_prompt"]
            wait = f"{k['p50_ms']} / {k['p95_ms']} / {k['p99_ms']}"
        lines.append(
            f"| {r['path']} | {r['concurrency']} | {r['target']} | {r['completed']} | "
            f"{_failed(r)} | {ast}{ratio} | {app} | {core} | {peak} | {per_call} | {wait} |"
        )
    return head + "\n".join(lines)


def plot(rows: list[Row], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = sorted({r["path"] for r in rows})
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for path, style in zip(paths, ("-", "--"), strict=False):
        mine = [r for r in rows if r["path"] == path]
        base = [r for r in mine if r["target"] == "baseline"]
        app = [r for r in mine if r["target"] == "app"]
        remote = [r for r in mine if r["target"] == "app-ws"]
        if remote:
            axes[0].plot(
                [r["concurrency"] for r in remote],
                [r["app_cpu_ms_per_call"] for r in remote],
                "v" + style,
                label=f"{path}: the app, bank core in its own process",
            )
        axes[0].plot(
            [r["concurrency"] for r in base],
            [r["asterisk_cpu_ms_per_call"] for r in base],
            "o" + style,
            label=f"{path}: Asterisk, dialplan baseline",
        )
        axes[0].plot(
            [r["concurrency"] for r in app],
            [r["asterisk_cpu_ms_per_call"] for r in app],
            "s" + style,
            label=f"{path}: Asterisk, with the app",
        )
        axes[0].plot(
            [r["concurrency"] for r in app],
            [r["app_cpu_ms_per_call"] for r in app],
            "^" + style,
            label=f"{path}: the app",
        )
        for q in ("p50", "p95", "p99"):  # with the demo adapter, as the issue asks
            axes[1].plot(
                [r["concurrency"] for r in app],
                [r["key_to_prompt"][f"{q}_ms"] for r in app],
                "o" + style,
                label=f"{path}: {q}",
            )
        for r in app + remote:
            times = [s[0] for s in r.get("rss_samples", [])]
            rss = [s[1] / 1024 for s in r.get("rss_samples", [])]
            where = ", core apart" if r["target"] == "app-ws" else ""
            axes[2].plot(times, rss, style, label=f"{path}, {r['concurrency']} calls{where}")
    axes[0].set(xlabel="calls in progress", ylabel="CPU ms per call", title="CPU per call")
    axes[1].set(
        xlabel="calls in progress",
        ylabel="ms",
        title="key reaching the app -> next prompt (demo adapter)",
    )
    axes[2].set(xlabel="seconds into the run", ylabel="MB", title="app RSS")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def plot_memory(rows: list[Row], out: Path) -> None:
    """The app's RSS over each run alone (for the long runs at one level)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for r in rows:
        samples = r.get("rss_samples") or []
        if not samples:
            continue
        where = "bank core in its own process" if r["target"] == "app-ws" else "demo core inside"
        ax.plot(
            [s[0] / 60 for s in samples],
            [s[1] / 1024 for s in samples],
            label=f"{r['path']}, {r['concurrency']} calls, {where} "
            f"({r['completed']} calls, {r['date']})",
        )
    ax.set(xlabel="minutes into the run", ylabel="MiB", title="the app's RSS")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


WHOLE_CALL_TARGET = 1.25  # Asterisk + app, to the baseline's Asterisk
APP_TARGET = 0.15  # the app alone, to the baseline's Asterisk
APP_SHARE_P99_TARGET_MS = 20.0  # key to prompt, the app's own share, at 200 calls
# Targets set against the baseline, with their markers in the plot.
WHOLE_CALL_TARGETS = {"app-ws": "v", "app": "^", "ari-floor": "o"}


def whole_call(rows: list[Row]) -> list[Row]:
    """Each app run against the baselines of the same command and level."""
    out = []
    for r in rows:
        if r["target"] not in WHOLE_CALL_TARGETS:
            continue
        same = (r["date"], r["command"], r["path"], r["concurrency"])
        bases = [
            b["asterisk_cpu_ms_per_call"]
            for b in rows
            if b["target"] == "baseline"
            and (b["date"], b["command"], b["path"], b["concurrency"]) == same
        ]
        if not bases:
            continue
        base = sum(bases) / len(bases)
        both = r["asterisk_cpu_ms_per_call"] + r["app_cpu_ms_per_call"]
        out.append(
            {
                "date": r["date"],
                "path": r["path"],
                "concurrency": r["concurrency"],
                "target": r["target"],
                "baselines": bases,
                "baseline": round(base, 1),
                "asterisk": r["asterisk_cpu_ms_per_call"],
                "app": r["app_cpu_ms_per_call"],
                "core": r.get("core_cpu_ms_per_call"),
                "whole_ratio": round(both / base, 2),
                "asterisk_ratio": round(r["asterisk_cpu_ms_per_call"] / base, 2),
                "app_ratio": round(r["app_cpu_ms_per_call"] / base, 2),
                "app_share_p99_ms": (r.get("key_to_prompt_app") or {}).get("p99_ms"),
                "failed": _failed(r),
                "steal_percent": r.get("machine_steal_percent"),
            }
        )
    return out


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


def whole_call_table(ratios: list[Row]) -> str:
    head = (
        "| run | path | calls in progress | target | baseline Asterisk ms/call (runs)"
        " | Asterisk ms/call (ratio) | app ms/call (ratio) | Asterisk + app (ratio)"
        " | app's share of key to prompt p99 ms | failed | host steal % |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = [
        f"| {w['date']} | {w['path']} | {w['concurrency']} | {w['target']} | {w['baseline']}"
        f" ({', '.join(str(b) for b in w['baselines'])}) | {w['asterisk']} ({w['asterisk_ratio']})"
        f" | {w['app']} ({w['app_ratio']}) | {round(w['asterisk'] + w['app'], 1)}"
        f" ({w['whole_ratio']}) | {_or_dash(w['app_share_p99_ms'])} | {w['failed']}"
        f" | {w['steal_percent']} |"
        for w in ratios
    ]
    return head + "\n".join(lines)


def plot_whole_call(ratios: list[Row], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    runs = sorted({w["date"] for w in ratios})
    for target, marker in WHOLE_CALL_TARGETS.items():
        for n, run in enumerate(runs):
            mine = sorted(
                (w for w in ratios if w["target"] == target and w["date"] == run),
                key=lambda w: w["concurrency"],
            )
            if not mine:
                continue
            levels = [w["concurrency"] for w in mine]
            label = f"{target}, run {n + 1}"
            axes[0].plot(
                levels,
                [w["whole_ratio"] for w in mine],
                marker + "-",
                label=f"{label}: Asterisk + app",
            )
            axes[0].plot(
                levels, [w["app_ratio"] for w in mine], marker + ":", label=f"{label}: app alone"
            )
            if target != "ari-floor":  # no flow, no /metrics: no app's share measured
                shares = [w["app_share_p99_ms"] for w in mine]
                axes[1].plot(levels, shares, marker + "-", label=label)
    axes[0].axhline(WHOLE_CALL_TARGET, color="grey", linestyle="--", linewidth=1)
    axes[0].axhline(APP_TARGET, color="grey", linestyle="--", linewidth=1)
    axes[0].axhline(1.0, color="black", linewidth=0.8)
    axes[0].set(
        xlabel="calls in progress",
        ylabel="CPU a call / baseline's Asterisk",
        title="Whole call against plain dialplan (targets dashed)",
    )
    axes[1].axhline(APP_SHARE_P99_TARGET_MS, color="grey", linestyle="--", linewidth=1)
    axes[1].set(
        xlabel="calls in progress",
        ylabel="ms",
        title="key to next prompt, the app's own share, p99 (target dashed)",
    )
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, nargs="+")
    parser.add_argument("--png", type=Path, help="CPU, key-to-prompt and RSS panels")
    parser.add_argument(
        "--memory-png",
        type=Path,
        help="the app's RSS over time, a line for every run given (none replaces another)",
    )
    parser.add_argument(
        "--whole-call",
        action="store_true",
        help="Asterisk + app against the baseline of the same command, every run",
    )
    parser.add_argument("--whole-call-png", type=Path, help="that table drawn, with the targets")
    args = parser.parse_args()
    if args.whole_call or args.whole_call_png:
        ratios = whole_call(load(args.results, every_run=True))
        print(whole_call_table(ratios))
        if args.whole_call_png:
            plot_whole_call(ratios, args.whole_call_png)
        return
    rows = load(args.results)
    print(table(rows))
    if args.png:
        plot(rows, args.png)
    if args.memory_png:
        plot_memory(load(args.results, every_run=True), args.memory_png)


if __name__ == "__main__":
    main()
