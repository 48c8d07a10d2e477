"""A SIPp caller that types a one-time code it only learns during the call.

SIPp reads its pcaps when it loads the scenario, so a code sent by SMS in
the middle of the call cannot be in one. This caller types its first keys,
then waits for a SIP INFO in its own dialog (the test plays the customer
reading the SMS: it takes the code from the demo outbox and sends it with
:meth:`SmsPhone.tell`), and types what the INFO carries with SIPp's
``play_dtmf``: RFC 4733 events (payload type 96, which the caller's SDP
offers as telephone-event), like every key of this call. A second INFO
(:meth:`SmsPhone.hang_up`) hangs up, once the test heard what it waited for.

The dialog's Call-ID is fixed by the test (``-cid_str``), so the INFO reaches this call.
"""

import asyncio
import secrets
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from tests.support.sipp import SippResult, free_udp_port

CALLER = "48500100300"
KEY_MS = 400  # how long SIPp's play_dtmf takes per key (measured)

TOLD = """  <recv request="BYE" optional="true" next="line_hung_up"/>
  <recv request="INFO" timeout="@CODE_TIMEOUT@" ontimeout="caller_hangs_up">
    <action>
      <ereg regexp="keys=([0-9*#]+)" search_in="body" check_it="true" assign_to="told,keys"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <nop><action><exec play_dtmf="[$keys]"/><log message="told [$told]"/></action></nop>
"""

SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="infolinia caller that types an SMS code">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "sipp" <sip:@CALLER@@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:@CALLER@@[local_ip]:[local_port]>
      Max-Forwards: 70
      Subject: infolinia test
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 96
      a=rtpmap:0 PCMU/8000
      a=rtpmap:96 telephone-event/8000
      a=fmtp:96 0-16
      a=sendrecv
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "sipp" <sip:@CALLER@@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:@CALLER@@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
@KEY_GROUPS@
@TOLD@  <recv request="BYE" optional="true" next="line_hung_up"/>
  <recv request="INFO" timeout="@HANGUP_AFTER@" ontimeout="caller_hangs_up"/>
  <send next="caller_hangs_up">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <label id="line_hung_up"/>
  <send next="caller_done">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
  <label id="caller_hangs_up"/>
  <send retrans="500">
    <![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "sipp" <sip:@CALLER@@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:@CALLER@@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" crlf="true"/>
  <label id="caller_done"/>
</scenario>
"""


@dataclass
class SmsPhone:
    """One SIPp caller that is told its second keys during the call."""

    line: str
    keys: list[tuple[int, str]]  # typed first: (ms to wait before, keys), group by group
    workdir: Path
    tells: int = 1  # how many times it is told keys (tell) before it hangs up
    code_timeout_ms: int = 30000  # how long it waits to be told keys
    hangup_after_ms: int = 30000  # after the second keys, if not told to hang up
    caller: str = CALLER

    def __post_init__(self) -> None:
        self.call_id = f"sms-{secrets.token_hex(8)}@127.0.0.1"
        self.port = free_udp_port()
        self._cseq = 0

    async def call(self) -> SippResult:
        """Place the call; returns when it has ended."""
        binary = shutil.which("sipp")
        if binary is None:
            raise AssertionError("sipp is not installed (Debian package sip-tester)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        scenario = self.workdir / "sms_caller.xml"
        text = SCENARIO
        for mark, value in {
            "@CALLER@": self.caller,
            "@KEY_GROUPS@": self._key_groups(),
            "@TOLD@": TOLD * self.tells,
            "@CODE_TIMEOUT@": str(self.code_timeout_ms),
            "@HANGUP_AFTER@": str(self.hangup_after_ms),
        }.items():
            text = text.replace(mark, value)
        scenario.write_text(text)
        proc = await asyncio.create_subprocess_exec(
            binary,
            "127.0.0.1:5060",
            "-sf",
            str(scenario),
            "-s",
            self.line,
            "-i",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-mp",
            str(free_udp_port() & ~1),
            "-cid_str",
            self.call_id,
            "-m",
            "1",
            "-l",
            "1",
            "-timeout",
            "90s",
            "-timeout_error",
            "-nostdin",
            "-trace_err",
            "-error_file",
            str(self.workdir / "errors.log"),
            cwd=self.workdir,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        errors = self.workdir / "errors.log"
        text = out.decode(errors="replace")[-2000:]
        if errors.exists():
            text += "\n" + errors.read_text(errors="replace")[-2000:]
        return SippResult(proc.returncode or 0, text)

    def _key_groups(self) -> str:
        """SIPp's play_dtmf returns at once: each pause also waits for the
        keys before it to be typed (KEY_MS each)."""
        steps, typing = [], 0
        for wait_ms, keys in self.keys:
            steps.append(f'  <pause milliseconds="{typing + wait_ms}"/>')
            steps.append(f'  <nop><action><exec play_dtmf="{keys}"/></action></nop>')
            typing = KEY_MS * len(keys)
        return "\n".join(steps)

    def tell(self, keys: str) -> None:
        """The customer read ``keys`` (the code, perhaps with ``#``) off the
        phone: a SIP INFO in the caller's dialog makes SIPp type them."""
        self._info(f"keys={keys}\r\n")

    def hang_up(self) -> None:
        """The customer heard what they waited for: the phone hangs up."""
        self._info("hang up\r\n")

    def _info(self, body: str) -> None:
        self._cseq += 1
        message = (
            f"INFO sip:{self.caller}@127.0.0.1:{self.port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port + 1};branch=z9hG4bK{secrets.token_hex(6)}\r\n"
            f"From: <sip:sms@127.0.0.1>;tag={secrets.token_hex(4)}\r\n"
            f"To: <sip:{self.caller}@127.0.0.1>\r\n"
            f"Call-ID: {self.call_id}\r\n"
            f"CSeq: {self._cseq} INFO\r\n"
            "Max-Forwards: 70\r\n"
            "Content-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{body}"
        )
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(message.encode(), ("127.0.0.1", self.port))
