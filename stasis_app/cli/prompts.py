"""``infolinia prompts ...``: what a bank's staff (or their admin) do with
prompt texts from a shell, next to the HTTP API."""

import argparse
import asyncio
import getpass
import json
import os
import shutil
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from stasis_app.admin.prompts import PromptAdmin, PromptAdminError
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.store import StaleEdit, Store
from voice.engine import SynthesisError
from voice.recording import MAX_BYTES

PROMPTS_HELP = """\
Read and change what callers hear. Texts are per tenant; an edit is rendered
first, then recorded with who and when, and a running 'infolinia run' plays it
from the next playback on (it looks for edits every second). No restart.

  infolinia prompts list cieszyn
  infolinia prompts set cieszyn greeting "Dzień dobry, tu Bank Spółdzielczy w Cieszynie."
  infolinia prompts play cieszyn greeting --out greeting.wav
  infolinia prompts record cieszyn greeting lektor.wav --transcript "Dzień dobry ..."
  infolinia prompts history cieszyn greeting
"""


def add_commands(commands: Any) -> None:
    prompts = commands.add_parser(
        "prompts",
        help="list, read, change, render and listen to prompt texts",
        description=PROMPTS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    prompts.add_argument(
        "action", choices=["list", "show", "set", "record", "history", "render", "play"]
    )
    prompts.add_argument("tenant", nargs="?", help="tenant id, e.g. cieszyn")
    prompts.add_argument(
        "key", nargs="?", help="prompt key, e.g. greeting (uk:greeting: its Ukrainian text)"
    )
    prompts.add_argument(
        "text", nargs="?", help="set: the new text; record: a WAV or MP3 file of the prompt"
    )
    prompts.add_argument(
        "--transcript", help="record: what the recording says (kept as the prompt's text)"
    )
    prompts.add_argument("--expect", help="set: refuse unless the current text is this")
    prompts.add_argument("--who", help="set: who makes the change (default: cli:$USER)")
    prompts.add_argument("--out", type=Path, help="play: write the 8 kHz WAV here")
    prompts.add_argument("--json", action="store_true", help="list/show/history as JSON")

    prompts.set_defaults(handler=run_prompts)


def _admin_for(args: argparse.Namespace) -> PromptAdmin:
    settings = load_settings(args.config, resolve_secrets=False)
    deployment = build_deployment(settings, with_adapters=False)
    admin = PromptAdmin(deployment, Store(settings.state))
    admin.load_stored()
    return admin


def _need(args: argparse.Namespace, *names: str) -> None:
    missing = [name for name in names if getattr(args, name) is None]
    if missing:
        raise PromptAdminError(f"{args.action} needs: {' '.join(m.upper() for m in missing)}")


def _read_upload(path: Path) -> bytes:
    """At most one byte more than an upload may have: a bigger file (or a
    device that never ends) is refused by the checker, not read whole."""
    try:
        with path.open("rb") as file:
            return file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise PromptAdminError(f"cannot read {path}: {exc.strerror}") from None


def run_prompts(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_prompts(args))
    except StaleEdit as exc:
        print(f"infolinia: not changed: the text is now {exc.current!r}", file=sys.stderr)
        return 1
    except PromptAdminError as exc:
        print(f"infolinia: {exc}", file=sys.stderr)
        return 2
    except SynthesisError as exc:
        print(f"infolinia: no engine could speak it, nothing changed: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"infolinia: the audio could not be stored, nothing changed: {exc}", file=sys.stderr)
        return 1


async def _prompts(args: argparse.Namespace) -> int:
    admin = _admin_for(args)
    if args.action == "render":
        tenants = admin.deployment.tenants
        books = [tenants[args.tenant].prompts] if args.tenant else admin.deployment.all_books()
        for number, book in enumerate(books, 1):
            print(f"[prompts] book {number}/{len(books)}: {len(book.texts)} prompts", flush=True)
            await book.render_all()
        print("[prompts] every prompt is rendered")
        return 0
    _need(args, "tenant")
    if args.action == "list":
        infos = admin.list_prompts(args.tenant)
        if args.json:
            print(json.dumps([asdict(info) for info in infos], ensure_ascii=False, indent=2))
        for info in [] if args.json else infos:
            text = info.text if len(info.text) <= 70 else info.text[:67] + "..."
            print(f"{info.key:24} {info.source:8} {text}")
        return 0
    if args.action == "history":
        edits = admin.history(args.tenant, args.key)
        if args.json:
            print(json.dumps([asdict(e) for e in edits], ensure_ascii=False, indent=2))
        for e in [] if args.json else edits:
            print(f"#{e.revision} {e.at} {e.who} {e.prompt}: {e.old_text!r} -> {e.new_text!r}")
        return 0
    _need(args, "key")
    if args.action == "show":
        info = admin.show(args.tenant, args.key)
        if args.json:
            print(json.dumps(asdict(info), ensure_ascii=False, indent=2))
        else:
            print(f"{info.tenant}/{info.key} ({info.source}): {info.text}")
        return 0
    if args.action == "play":
        _need(args, "out")
        wav = await admin.preview(args.tenant, args.key, args.text)
        shutil.copyfile(wav, args.out)
        print(f"{args.out}: what callers hear (8 kHz WAV)")
        return 0
    _need(args, "text")  # set, record
    who = args.who or f"cli:{os.environ.get('SUDO_USER') or getpass.getuser()}"
    if args.action == "record":
        _need(args, "transcript")
        data = _read_upload(Path(args.text))
        edit = await admin.set_recording(
            args.tenant, args.key, data, args.transcript, who=who, expected=args.expect
        )
        print(f"#{edit.revision}: {args.tenant}/{args.key} now plays {args.text} (normalized)")
        return 0
    edit = await admin.set(args.tenant, args.key, args.text, who=who, expected=args.expect)
    print(f"#{edit.revision}: {args.tenant}/{args.key} is now {edit.new_text!r}")
    print("a running line plays it from the next playback on (within a second)")
    return 0
