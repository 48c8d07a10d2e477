"""``infolinia cluster up|down|status|drain|undrain``: Kamailio in front of
several Asterisk nodes with one app each, on this machine (a developer tool,
devtools/cluster.py, loaded only when the command runs; docs/scaling.md)."""

import argparse
import json
import sys
from typing import Any

from stasis_app.config import load_settings


def add_commands(commands: Any) -> None:
    cluster = commands.add_parser(
        "cluster",
        help="Kamailio in front of N Asterisk nodes, one app each, on this machine",
        description="Manage a cluster on this machine. 'up' starts N Asterisk nodes from the "
        "sandbox's root (node k on 127.0.0.(k+1), folders under $INFOLINIA_CLUSTER_DIR, default "
        "/var/cache/infolinia/cluster), Kamailio on 127.0.0.1:5070 with a generated config, and "
        "one 'infolinia run' per node with this config. 'drain NODE' sends it no new calls; "
        "'undrain NODE' takes it back. Needs root.",
    )
    cluster.add_argument("action", choices=["up", "down", "status", "drain", "undrain"])
    cluster.add_argument("node", nargs="?", help="for drain and undrain: node1, node2, ...")
    cluster.add_argument("--nodes", type=int, default=2, help="how many nodes (default 2)")
    cluster.add_argument(
        "--state",
        help="the state every node shares: a postgresql:// URL (password from "
        "$INFOLINIA_STATE_PASSWORD or $INFOLINIA_STATE_PASSWORD_FILE) or a SQLite file; default: "
        "the cluster's own PostgreSQL (port 55450), started by 'up' and stopped by 'down'",
    )
    cluster.add_argument("--json", action="store_true", help="status as JSON")
    cluster.set_defaults(handler=_cluster)


def _cluster(args: argparse.Namespace) -> int:
    from devtools.cluster import Cluster  # a developer tool
    from devtools.sandbox import Sandbox, SandboxError

    try:
        settings = load_settings(args.config, resolve_secrets=False)
        sandbox = Sandbox.default(prompt_dir=settings.voice.cache_dir)
        seed = settings.voice.cache_dir  # prompts the single-node line rendered already
        cluster = Cluster(
            sandbox, settings.source, args.nodes, seed_prompts=seed, state_url=args.state
        )
        return _manage(args, cluster)
    except SandboxError as exc:  # ClusterError too
        print(f"infolinia: {exc}", file=sys.stderr)
        return 2


def _manage(args: argparse.Namespace, cluster: Any) -> int:
    if args.action in ("drain", "undrain"):
        if not args.node:
            print(f"infolinia: cluster {args.action} needs a node (node1, ...)", file=sys.stderr)
            return 2
        node = cluster.node(args.node)
        if args.action == "drain":
            cluster.kamailio.drain(node)
        else:
            cluster.kamailio.undrain(node)
    elif args.action == "up":
        cluster.up()
    elif args.action == "down":
        cluster.down()
    status = cluster.status()
    if args.json:
        print(json.dumps(status, indent=2))
    elif args.action != "down":
        _print(status)
    if args.action == "down":
        return 0
    serving = [n for n in status["nodes"] if n["app_registered"] and n["ari_answers"]]
    return 0 if status["kamailio_pid"] and serving else 1


def _print(status: dict[str, Any]) -> None:
    kamailio = status["kamailio_pid"]
    print(f"SIP entry  {status['sip']} (Kamailio {'pid ' + str(kamailio) if kamailio else 'down'})")
    print(f"state      {status['state']}")
    postgres = status.get("postgres")
    if postgres:
        running = f"pid {postgres['pid']}" if postgres["running"] else "DOWN"
        where = f"port {postgres['port']}, {postgres['data']}"
        print(f"PostgreSQL {postgres['name']} ({running}, {where})")
    print(f"{'node':6} {'sip':16} {'asterisk':9} {'app':9} {'in set':7} {'calls':5}  admin")
    for node in status["nodes"]:
        asterisk = node["asterisk_pid"] if node["ari_answers"] else "down"
        app = node["app_pid"] or "down"
        if node["app_pid"] and not node["app_registered"]:
            app = "no reg."
        calls = "-" if node["calls_in_progress"] is None else node["calls_in_progress"]
        print(
            f"{node['node']:6} {node['sip']:16} {asterisk!s:9} {app!s:9} "
            f"{node['dispatcher'] or '-':7} {calls!s:5}  {node['admin']}"
        )
