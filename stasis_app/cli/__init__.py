"""The ``infolinia`` command: one module per command group, each adding its
commands to the parser with ``add_commands`` and naming the function that
runs each (``handler``). A new command is a module here and a line in
:data:`GROUPS`."""

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from plugin.manager import UnknownHookError
from stasis_app import __version__
from stasis_app.cli import (
    admin,
    banks,
    calls,
    cluster,
    flows,
    prompts,
    queue,
    recordings,
    records,
    report,
    sandbox,
    serve,
    state,
    tenants,
)
from stasis_app.config import DEFAULT_CONFIG
from stasis_app.errors import ConfigError

DESCRIPTION = """\
infolinia: self-service phone banking for cooperative banks, served as an
Asterisk ARI (Stasis) application that speaks Polish.

  infolinia sandbox up      build (once) and start a real Asterisk 22 on this machine
  infolinia run             render the prompts and serve calls on the demo numbers
  infolinia call 100 --keys "4711#"   call a line and print what the caller heard
  infolinia sandbox status  what runs, where, and how to reach it (--json)
  infolinia cluster up      Kamailio in front of two Asterisk nodes, one app each
  infolinia prompts set cieszyn greeting "Dzień dobry..."   change a prompt, live
"""


# In the order ``infolinia --help`` lists them.
GROUPS = (
    serve, calls, flows, banks, tenants, sandbox, cluster, prompts, admin, records, report, queue,
    state, recordings,
)  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="infolinia",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"infolinia {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        help=f"config file (default: {DEFAULT_CONFIG}; or $INFOLINIA_CONFIG)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for group in GROUPS:
        group.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except (ConfigError, UnknownHookError) as exc:
        print(f"infolinia: {exc}", file=sys.stderr)
        return 2
