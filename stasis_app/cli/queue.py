"""``infolinia queue ...``: the consultant queues of the running app.

``status``, ``supervise`` and ``stop`` ask the running app through its admin
API: the command makes itself a token in the state store (only someone who
can write the store can), named after the user running it so the audit
trail says who listened in, with the scopes it needs, and revokes it when
done. ``supervise`` names one of the bank's configured supervisors
(``tenants.ID.supervisors``); a phone cannot be given. ``callbacks`` and
``done`` read and write the store directly, so they work while the app is
stopped.
"""

import argparse
import asyncio
import getpass
import json
import re
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp

from stasis_app.config import Settings, load_settings
from stasis_app.queue.callbacks import CallbackBook
from stasis_app.store import Store


def add_commands(commands: Any) -> None:
    queue = commands.add_parser(
        "queue",
        help="consultant queues: who waits, who talks, callbacks, supervisors",
        description="status: each queue's agents, waiting callers (place, wait) and calls "
        "with agents, from the running app. callbacks: open callback requests, oldest "
        "place first; done ID marks one handled. supervise CALL --mode listen|whisper|barge "
        "--phone NAME rings the phone of NAME, one of the bank's supervisors in the config "
        "(tenants.ID.supervisors), and joins them to the call of CALL (the caller's call id, "
        "from status); stop SESSION ends it.",
    )
    queue.add_argument(
        "action",
        choices=["status", "callbacks", "done", "supervise", "stop"],
        metavar="ACTION",
        help="status, callbacks, done, supervise or stop",
    )
    queue.add_argument(
        "target", nargs="?", help="done: callback id; supervise: call; stop: session"
    )
    queue.add_argument("--tenant", help="one bank only (callbacks, status)")
    queue.add_argument("--mode", choices=["listen", "whisper", "barge"], default="listen")
    queue.add_argument(
        "--phone",
        "--supervisor",
        dest="phone",
        help="supervise: a supervisor's name from the bank's config (tenants.ID.supervisors)",
    )
    queue.add_argument("--who", default="cli", help="done: who handled it (kept in the store)")
    queue.add_argument("--json", action="store_true", help="as JSON")
    queue.set_defaults(handler=run_queue)


@contextmanager
def _token(store: Store) -> Iterator[str]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        user = "unknown"
    who = re.sub(r"[^A-Za-z0-9._-]", "_", user)[:32]
    name = f"cli-{who}-{secrets.token_hex(4)}"
    token = store.create_token(name, "*", ("queues", "supervise"))
    try:
        yield token
    finally:
        store.revoke_token(name)


async def _api(settings: Settings, token: str, method: str, path: str, body: Any = None) -> Any:
    host = "127.0.0.1" if settings.admin.listen in ("0.0.0.0", "::") else settings.admin.listen
    url = f"http://{host}:{settings.admin.port}{path}"
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=10)) as http,
        http.request(method, url, json=body) as response,
    ):
        answer = await response.json()
        if response.status >= 400:
            raise RuntimeError(answer.get("error", f"HTTP {response.status}"))
        return answer


def run_queue(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, resolve_secrets=False)
    store = Store(settings.state)
    if args.action in ("callbacks", "done"):
        return _callbacks(args, CallbackBook(store))
    if args.action in ("supervise", "stop") and not args.target:
        print(f"infolinia queue {args.action}: name the call or session", file=sys.stderr)
        return 2
    if args.action == "supervise" and not args.phone:
        known = ", ".join(
            f"{tenant}: {' '.join(p.name for p in t.supervisors) or 'none'}"
            for tenant, t in sorted(settings.tenants.items())
            if t.queues
        )
        print(
            "infolinia queue supervise: --phone names one of the bank's supervisors "
            f"({known or 'no bank has queues'})",
            file=sys.stderr,
        )
        return 2
    try:
        with _token(store) as token:
            return asyncio.run(_live(args, settings, token))
    except aiohttp.ClientConnectionError:
        print(
            f"infolinia queue {args.action}: the app is not running (no admin API on port "
            f"{settings.admin.port})",
            file=sys.stderr,
        )
        return 1
    except RuntimeError as exc:
        print(f"infolinia queue {args.action}: {exc}", file=sys.stderr)
        return 1


async def _live(args: argparse.Namespace, settings: Settings, token: str) -> int:
    if args.action == "status":
        queues = (await _api(settings, token, "GET", "/api/queues"))["queues"]
        queues = [q for q in queues if args.tenant in (None, q["tenant"])]
        print(json.dumps(queues, indent=2) if args.json else _status_text(queues))
        return 0
    if args.action == "supervise":
        status = (await _api(settings, token, "GET", "/api/queues"))["queues"]
        tenant = next(
            (q["tenant"] for q in status for t in q["talking"] if t["call"] == args.target), None
        )
        if tenant is None:
            raise RuntimeError(f"call {args.target} is not talking to an agent")
        path = f"/api/tenants/{tenant}/calls/{args.target}/supervise"
        session = await _api(
            settings, token, "POST", path, {"mode": args.mode, "supervisor": args.phone}
        )
        print(
            json.dumps(session)
            if args.json
            else f"session {session['session']}: ringing {args.phone} on {session['phone']} "
            f"to {args.mode} (end it: infolinia queue stop {session['session']})"
        )
        return 0
    answer = await _api(settings, token, "DELETE", f"/api/supervision/{args.target}")
    print(json.dumps(answer) if args.json else f"session {args.target} ended")
    return 0


def _status_text(queues: list[dict[str, Any]]) -> str:
    if not queues:
        return "no consultant queues configured"
    lines = []
    for q in queues:
        exits = ", ".join(f"{k} {v}" for k, v in sorted(q["exits"].items())) or "none yet"
        lines.append(
            f"{q['tenant']}/{q['queue']}: {'open' if q['open'] else 'closed'}, "
            f"{len(q['waiting'])} waiting, {len(q['talking'])} talking; exits: {exits}"
        )
        for agent in q["agents"]:
            lines.append(f"  agent {agent['endpoint']}: {agent['state']}")
        for w in q["waiting"]:
            ringing = " (an agent is ringing)" if w["ringing"] else ""
            lines.append(f"  waiting #{w['position']} {w['call']} {w['waited']}s{ringing}")
        for t in q["talking"]:
            lines.append(f"  talking {t['call']} with {t['agent']} {t['seconds']}s")
    return "\n".join(lines)


def _callbacks(args: argparse.Namespace, book: CallbackBook) -> int:
    if args.action == "done":
        if not (args.target or "").isdigit():
            print("infolinia queue done: give the callback's id (a number)", file=sys.stderr)
            return 2
        if not book.mark_done(int(args.target), args.who):
            print(f"infolinia queue done: no open callback {args.target}", file=sys.stderr)
            return 1
        print(f"callback {args.target} done")
        return 0
    found = book.list(args.tenant)
    if args.json:
        print(json.dumps([c.as_dict() for c in found], ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("no open callback requests", file=sys.stderr)
    for c in found:
        who = f" customer {c.customer} ({c.level})" if c.customer else ""
        print(f"#{c.id} {c.tenant}/{c.queue} call {c.number}{who}, waiting since {c.waiting_since}")
    return 0
