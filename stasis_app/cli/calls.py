"""``infolinia call``: a real call through Asterisk, with a transcript (the
simulator is a developer tool, loaded only when the command runs)."""

import argparse
import asyncio
from pathlib import Path
from typing import Any

from stasis_app.config import load_settings


def add_commands(commands: Any) -> None:
    call = commands.add_parser(
        "call",
        help="place a real call to a line and print what the caller heard",
        description="Call LINE through Asterisk (a Local channel whose caller half is driven "
        "over ARI). Each time the line falls quiet after a prompt, the next key group is "
        "pressed. Prints a transcript: each prompt's text, each key group, the outcome.",
    )
    call.add_argument("line", help="the dialled number, e.g. 100")
    call.add_argument(
        "--keys", default="", help='key groups separated by spaces, e.g. "1 12345678 1234#"'
    )
    call.add_argument("--wav", type=Path, help="record what the caller heard to this WAV file")
    call.add_argument(
        "--caller", default="600000000", help="the calling number (default 600000000)"
    )
    call.add_argument("--json", action="store_true", help="transcript as JSON")
    call.add_argument(
        "--gap", type=float, default=0.6, help="seconds of quiet before keys are pressed"
    )
    call.add_argument(
        "--hangup-after",
        type=float,
        metavar="SECONDS",
        help="hang up this long after the last keys once the line is quiet (0: at once); "
        "default: wait for the line to hang up",
    )
    call.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="give up on the call after this long (default 120)",
    )
    call.set_defaults(handler=_call)


def _call(args: argparse.Namespace) -> int:
    from devtools.simulator import CallSimulator
    from stasis_app.admin.prompts import PromptAdmin
    from stasis_app.deployment import build_deployment
    from stasis_app.store import Store

    settings = load_settings(args.config)
    deployment = build_deployment(settings, with_adapters=False)
    PromptAdmin(deployment, Store(settings.state)).load_stored()  # name edited prompts too
    simulator = CallSimulator(settings.ari, deployment.heard_texts())
    wav = args.wav.resolve() if args.wav else None
    transcript = asyncio.run(
        simulator.call(
            args.line,
            args.keys.split(),
            wav=wav,
            quiet_gap=args.gap,
            hangup_after=args.hangup_after,
            caller_number=args.caller,
            timeout=args.timeout,
        )
    )
    print(transcript.as_json() if args.json else transcript.as_text())
    return 0 if transcript.outcome in ("the line hung up", "the caller hung up") else 1
