"""Places a real SIP call with SIPp (Debian's sip-tester) that presses keys
as RFC 4733 events."""

import asyncio
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from tests.sipp.dtmf_pcap import GAP_MS, PRESS_MS, write_pcap

SCENARIOS = Path(__file__).resolve().parent.parent / "sipp"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SippResult:
    returncode: int
    output: str


async def sipp_call(
    line: str,
    keys: str,
    wait_ms: int,
    workdir: Path,
    scenario_name: str = "caller.xml",
    extra_args: tuple[str, ...] = (),
    caller: str = "48500100200",
    target: str = "127.0.0.1:5060",
    hangup_after_ms: int | None = None,
) -> SippResult:
    """Call ``line`` on the sandbox from ``caller`` (the From user: a number, or
    ``anonymous`` for a withheld one), press ``keys`` after ``wait_ms``, wait for
    its BYE. ``target``: where the INVITE goes (a cluster's proxy). With
    ``hangup_after_ms`` the caller waits that long after its last key for the
    line's BYE and then hangs up itself (a caller who gives up, instead of
    sitting through the line's input timeouts)."""
    binary = shutil.which("sipp")
    if binary is None:
        raise AssertionError("sipp is not installed (Debian package sip-tester)")
    workdir.mkdir(parents=True, exist_ok=True)
    pcap = write_pcap(keys, workdir / "keys.pcap")
    scenario = workdir / "caller.xml"
    text = (SCENARIOS / scenario_name).read_text().replace("@PCAP@", str(pcap))
    if hangup_after_ms is not None:
        text = caller_hangs_up(text, key_ms(keys) + hangup_after_ms)
    scenario.write_text(text.replace("48500100200", caller))
    # The ports are free when chosen, but another SIPp started at the same
    # moment may take one first: SIPp then stops before it sends anything
    # ("Unable to bind"), and the call is placed again on new ports.
    for _ in range(BIND_TRIES):
        result = await _sipp_once(binary, target, scenario, line, wait_ms, workdir, extra_args)
        if "Unable to bind" not in result.output:
            break
    return result


BIND_TRIES = 3
WAIT_FOR_BYE = '<recv request="BYE" timeout="40000"/>'
CALLER_BYE = """
  <label id="caller_hangs_up"/>
  <send retrans="500">
    <![CDATA[
      BYE @URI@ SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "sipp" <sip:48500100200@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      [routes]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:48500100200@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" crlf="true"/>
  <label id="caller_done"/>
</scenario>"""


def key_ms(keys: str) -> int:
    """How long the keys of a call take to press (tests/sipp/dtmf_pcap.py)."""
    return len(keys) * (PRESS_MS + GAP_MS)


def caller_hangs_up(scenario: str, after_ms: int) -> str:
    """``scenario`` (a caller that waits for the line's BYE) with the caller
    hanging up itself when no BYE came within ``after_ms`` of the keys' start."""
    assert WAIT_FOR_BYE in scenario and scenario.rstrip().endswith("</scenario>")
    waiting = f'<recv request="BYE" timeout="{after_ms}" ontimeout="caller_hangs_up"/>'
    head, tail = scenario.split(WAIT_FOR_BYE)
    # The line's BYE answered: past the caller's own BYE.
    tail = tail.replace("<send>", '<send next="caller_done">', 1)
    # The BYE goes where the scenario's ACK went (the dialog's route through a
    # proxy, or straight to the line).
    uri = (
        "[next_url]" if "ACK [next_url]" in scenario else "sip:[service]@[remote_ip]:[remote_port]"
    )
    bye = CALLER_BYE.replace("@URI@", uri)
    return head + waiting + tail.rstrip().removesuffix("</scenario>") + bye + "\n"


async def _sipp_once(
    binary: str,
    target: str,
    scenario: Path,
    line: str,
    wait_ms: int,
    workdir: Path,
    extra_args: tuple[str, ...],
) -> SippResult:
    (workdir / "errors.log").unlink(missing_ok=True)
    media_port = free_udp_port() & ~1  # RTP on an even port
    proc = await asyncio.create_subprocess_exec(
        binary,
        target,
        "-sf",
        str(scenario),
        "-s",
        line,
        "-i",
        "127.0.0.1",
        "-p",
        str(free_udp_port()),
        "-mp",
        str(media_port),
        "-m",
        "1",
        "-l",
        "1",
        "-d",
        str(wait_ms),
        "-timeout",
        "60s",
        "-timeout_error",
        "-nostdin",
        *extra_args,
        "-trace_err",
        "-error_file",
        str(workdir / "errors.log"),
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    errors = workdir / "errors.log"
    text = out.decode(errors="replace")[-2000:]
    if errors.exists():
        text += "\n" + errors.read_text(errors="replace")[-2000:]
    return SippResult(proc.returncode or 0, text)
