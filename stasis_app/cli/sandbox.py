"""``infolinia sandbox up|down|status|restart``: the Asterisk sandbox (a
developer tool, loaded only when the command runs)."""

import argparse
import json
import sys
from typing import Any

from stasis_app.config import load_settings


def add_commands(commands: Any) -> None:
    sandbox = commands.add_parser(
        "sandbox",
        help="a real Asterisk 22 on this machine (Debian unstable root, chroot)",
        description="Manage the Asterisk sandbox. 'up' debootstraps a Debian unstable root with "
        "Asterisk once into $INFOLINIA_SANDBOX_DIR (default /var/cache/infolinia/sandbox), "
        "installs docker/asterisk/etc, starts Asterisk and waits for ARI. Needs root.",
    )
    sandbox.add_argument("action", choices=["up", "down", "status", "restart"])
    sandbox.add_argument("--json", action="store_true", help="status as JSON")
    sandbox.set_defaults(handler=_sandbox)


def _sandbox(args: argparse.Namespace) -> int:
    from devtools.sandbox import Sandbox, SandboxError  # a developer tool

    try:
        return _manage(args, Sandbox.default, load_settings(args.config, resolve_secrets=False))
    except SandboxError as exc:
        print(f"infolinia: {exc}", file=sys.stderr)
        return 2


def _manage(args: argparse.Namespace, make: Any, settings: Any) -> int:
    sandbox = make(prompt_dir=settings.voice.cache_dir)
    if args.action == "up":
        sandbox.up()
    elif args.action == "down":
        sandbox.down()
    elif args.action == "restart":
        sandbox.restart()
    status = sandbox.status()
    if args.json:
        print(json.dumps(status, indent=2))
    elif args.action == "status":
        for key, value in status.items():
            print(f"{key:24} {value}")
    return 0 if args.action == "down" or status["ari_answers"] else 1
