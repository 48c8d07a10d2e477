"""Decoding an upload that :mod:`voice.upload_check` let through, in a box.

The header check keeps out what is plainly not a short WAV or MP3; what is
left is still an attacker's bytes handed to a C decoder. So ffmpeg runs:

- told the format (``-f wav``/``-f mp3``): nothing is guessed, so no
  playlist, concat list or image demuxer ever reads the file;
- reading the upload from its stdin (opened by the app) with
  ``-protocol_whitelist pipe``: it opens no file and no URL, whatever a
  demuxer finds in the upload;
- as the ``nobody`` user (``setpriv``, no new privileges) when the app runs
  as root: taken over, it still cannot read the audit key, the state store
  or the app's environment;
- in an empty network namespace (``unshare -n``) where the machine allows
  it (root, or a kernel that grants it): not even a stray socket leaves;
- with ``-t 181``: at most 181 s of sound ever comes out (about 17 MB of
  16-bit mono at 48 kHz), whatever the file claims;
- under resource limits set in the child before it runs ffmpeg
  (:func:`_limits`): CPU seconds, address space, no file written, a few
  descriptors; and a wall-clock timeout, after which it is killed;
- at most :data:`SLOTS` at a time, from a pool of its own (:data:`POOL`),
  so uploads never take the threads that calls and the store use.

The result is raw 16-bit mono PCM at the upload's own sample rate; the
caller (:mod:`voice.recording`) measures, trims and normalizes it in Python
and converts its own, trusted WAV for Asterisk.
"""

import logging
import os
import resource
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

from voice.upload_check import MAX_SECONDS, AudioHeader, BadRecording

log = logging.getLogger(__name__)

SLOTS = 2  # ffmpeg decodes at once, in this process
DECODE_SECONDS = 181  # -t: never more sound than this comes out
CPU_SECONDS = 10  # RLIMIT_CPU: a 3-minute MP3 decodes in well under a second
MEMORY_BYTES = 512 * 1024 * 1024  # RLIMIT_AS: ffmpeg and its libraries map ~250 MB
WALL_SECONDS = 30  # killed after this, whatever it is doing
NOBODY = 65534  # the decoder's user and group when the app runs as root
MAX_LOG = 4096  # bytes of ffmpeg's complaints kept for the log

POOL = ThreadPoolExecutor(max_workers=SLOTS, thread_name_prefix="infolinia-upload")
_slots = threading.BoundedSemaphore(SLOTS)


def _limits() -> None:
    """Run in the child between fork and exec: only setrlimit calls (no locks)."""
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # writes only to its pipes
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


@cache
def _no_network() -> tuple[str, ...]:
    """``unshare -n`` when this machine lets us make an empty network
    namespace, else nothing (the protocol whitelist still holds)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    try:
        probe = subprocess.run([unshare, "-n", "true"], capture_output=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    if probe.returncode != 0:
        log.info("uploads are decoded without a network namespace (unshare -n is not allowed)")
        return ()
    return (unshare, "-n", "--")


@cache
def _as_nobody() -> tuple[str, ...]:
    """``setpriv`` to the ``nobody`` user when the app runs as root: a decoder
    an upload took over cannot read the audit key, the store or the app's
    environment (root's files and /proc entries). A non-root app's decoder
    runs as the app's user (docs/security.md says what a bank does then)."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        return ()
    return (
        setpriv,
        f"--reuid={NOBODY}",
        f"--regid={NOBODY}",
        "--clear-groups",
        "--no-new-privs",
        "--",
    )


def command(header: AudioHeader) -> list[str]:
    """The ffmpeg command line that decodes the upload on its stdin to mono
    PCM on stdout (it opens no file and no URL: the whitelist is pipe only)."""
    return [
        *_no_network(),
        *_as_nobody(),
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-threads",
        "1",
        "-protocol_whitelist",
        "pipe",
        "-f",
        header.kind,
        "-i",
        "pipe:0",
        "-map",
        "0:a:0",
        "-vn",
        "-sn",
        "-dn",
        "-t",
        str(DECODE_SECONDS),
        "-ac",
        "1",
        "-ar",
        str(header.rate),
        "-f",
        "s16le",
        "-acodec",
        "pcm_s16le",
        "pipe:1",
    ]


def decode(source: Path, header: AudioHeader) -> bytes:
    """16-bit mono PCM at ``header.rate`` of the checked upload in ``source``,
    or BadRecording saying why not (cannot be decoded, took too long, longer
    than allowed once decoded)."""
    what = header.kind.upper()
    with _slots:
        try:
            with source.open("rb") as upload:  # opened here: the decoder may not read it
                done = subprocess.run(
                    command(header),
                    stdin=upload,
                    capture_output=True,
                    timeout=WALL_SECONDS,
                    preexec_fn=_limits,  # setrlimit only, between fork and exec
                    check=False,
                    env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
                )
        except subprocess.TimeoutExpired:
            raise BadRecording(f"the {what} file took too long to decode") from None
    if done.returncode != 0:
        log.warning(
            "an upload could not be decoded",
            extra={"kind": header.kind, "status": done.returncode, "ffmpeg": _tail(done.stderr)},
        )
        if done.returncode == -24:  # SIGXCPU: the CPU limit
            raise BadRecording(f"the {what} file took too long to decode")
        raise BadRecording(f"the {what} file cannot be decoded")
    pcm = done.stdout
    if len(pcm) < 2:
        raise BadRecording(f"the {what} file cannot be decoded (no sound in it)")
    seconds = len(pcm) / 2 / header.rate
    if seconds > MAX_SECONDS + 0.5:  # -t cut it: it was longer still
        raise BadRecording(
            f"the recording lasts more than {MAX_SECONDS:.0f} s; a prompt lasts at most "
            f"{MAX_SECONDS / 60:.0f} minutes"
        )
    return pcm[: len(pcm) // 2 * 2]


def _tail(stderr: bytes) -> str:
    return stderr[-MAX_LOG:].decode("utf-8", "replace")
