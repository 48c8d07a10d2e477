"""``infolinia run``: serve calls."""

import argparse
import asyncio
import sys
from typing import Any

from stasis_app.config import load_settings
from stasis_app.errors import AriRefusedLogin
from stasis_app.logs import setup_logging


def add_commands(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="serve calls: render prompts, connect to ARI, one task per call",
        description="Render every prompt, connect to Asterisk's ARI (URL, user and password "
        "from the config or INFOLINIA_ARI_URL/_USER/_PASSWORD), register the Stasis app and "
        "serve calls until Ctrl-C or SIGTERM. Logs are JSON lines on stderr.",
    )
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from stasis_app.app import InfoliniaApp  # imports aioari; not needed for sandbox commands

    settings = load_settings(args.config)
    setup_logging(settings.log_level, settings.node)
    try:
        asyncio.run(InfoliniaApp(settings).serve())
    except AriRefusedLogin:
        print(
            f"infolinia: {settings.source}: ari.user/ari.password: Asterisk at "
            f"{settings.ari.url} refused user {settings.ari.user!r} (wrong password? it comes "
            "from $INFOLINIA_ARI_PASSWORD or ari.password_file)",
            file=sys.stderr,
        )
        return 2
    return 0
