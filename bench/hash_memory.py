"""Memory kept after a burst of logins: scrypt on a shared thread pool
against scrypt on one thread of its own.

    .venv/bin/python bench/hash_memory.py [--logins 24] [--json]

glibc gives each thread that allocates its own malloc arena, and scrypt's
work area (4 MiB at the demo core's cost, 16 MiB at the admin page's) comes
from the arena once glibc's mmap threshold has risen past it, so each
thread that ran one check keeps that much resident afterwards. Each case
runs in a fresh Python process that makes ``--logins`` checks at once from
a pool the size of asyncio's default (min(32, CPUs + 4) threads) and
reports its RSS before and after:

- ``demo, shared pool``: the demo core's scrypt run on the pool's threads,
  as ``adapters/demo.py`` did before it had a thread of its own (baseline);
- ``demo, own thread``: ``DemoBank.authenticate`` as it is now;
- ``admin, shared pool``: the admin page's scrypt on the pool's threads
  (baseline);
- ``admin, one thread``: ``stasis_app.admin.web.accounts`` as it is now.
"""

import argparse
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from load import status_kb  # noqa: E402  (bench/, beside this file)

CASES = ("demo, shared pool", "demo, own thread", "admin, shared pool", "admin, one thread")
POOL_THREADS = min(32, (os.cpu_count() or 1) + 4)


def rss_mib() -> float:
    return status_kb(os.getpid(), "VmRSS") / 1024


async def demo_own_thread(logins: int, workdir: Path) -> float:
    from adapters.demo import DemoBank, DemoSettings

    bank = DemoBank(DemoSettings(database=workdir / "demo.sqlite", tenant="bench"))
    before = rss_mib()  # after the seed's own hashing on this thread
    await asyncio.gather(*(bank.authenticate("12345678", "1234") for _ in range(logins)))
    await bank.close()
    return before


def run_case(case: str, logins: int) -> dict[str, float]:
    """Run one case in this process; RSS before and after the logins."""
    from adapters.demo import _hash as demo_hash
    from stasis_app.admin.web.accounts import SCRYPT, _hash_password

    salt = os.urandom(16)
    pool = ThreadPoolExecutor(max_workers=POOL_THREADS)
    with tempfile.TemporaryDirectory() as workdir:
        if case == "demo, own thread":
            before = asyncio.run(demo_own_thread(logins, Path(workdir)))
        else:
            before = rss_mib()
            if case == "demo, shared pool":
                work = lambda _: demo_hash("1234", salt)  # noqa: E731
            elif case == "admin, shared pool":
                work = lambda _: hashlib.scrypt(b"password123", salt=salt, **SCRYPT)  # noqa: E731
            else:
                work = lambda _: _hash_password("password123", salt.hex())  # noqa: E731
            list(pool.map(work, range(logins)))
        after = rss_mib()
    pool.shutdown()
    return {"before_mib": round(before, 1), "after_mib": round(after, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=24, help="checks made at once (24)")
    parser.add_argument("--json", action="store_true", help="one JSON object per case")
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)  # the child's side
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.logins)))
        return 0
    for case in CASES:
        child = subprocess.run(
            [sys.executable, __file__, "--case", case, "--logins", str(args.logins)],
            capture_output=True,
            text=True,
            check=True,
        )
        result = {"case": case, "logins": args.logins, "pool_threads": POOL_THREADS}
        result |= json.loads(child.stdout)
        result["kept_mib"] = round(result["after_mib"] - result["before_mib"], 1)
        if args.json:
            print(json.dumps(result))
        else:
            print(
                f"{case:20} RSS {result['before_mib']:6.1f} -> {result['after_mib']:6.1f} MiB"
                f"  kept {result['kept_mib']:5.1f} MiB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
