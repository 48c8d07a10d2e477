"""Writes a pcap of RFC 4733 key presses for SIPp's ``play_pcap_audio``.

Debian's sip-tester ships ``dtmf_2833_0..9.pcap`` only (no ``*`` or ``#``),
and all of them carry the same RTP timestamp, so Asterisk takes a repeated key
for a retransmission and drops it ("11" arrives as "1"). Here every press gets
its own RTP timestamp, and sequence numbers run on across the whole file.
A caller that presses keys at several moments of one call plays several
pcaps: each starts its timestamps and sequence numbers where the call is
(``start_ms``, ``first_seq``), or Asterisk drops its first key as a repeat.

    python -m tests.sipp.dtmf_pcap "12345678#" out.pcap
"""

import argparse
import struct
from pathlib import Path

EVENT_CODES = {
    **{str(d): d for d in range(10)},
    "*": 10,
    "#": 11,
    **{c: 12 + i for i, c in enumerate("ABCD")},
}
PAYLOAD_TYPE = 101
CLOCK = 8000
PACKET_MS = 20
PRESS_MS = 100  # how long a key is held (a phone sends about 100 ms)
GAP_MS = 100  # silence between presses
END_REPEATS = 3  # RFC 4733 2.5.1.4: the end packet is sent three times
SSRC = 0x1F0C0A11


def _ip_checksum(header: bytes) -> int:
    total: int = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _frame(rtp: bytes, src_port: int = 6000, dst_port: int = 10000) -> bytes:
    udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(rtp), 0) + rtp
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(udp),
        0,
        0x4000,
        64,
        17,
        0,
        bytes([127, 0, 0, 1]),
        bytes([127, 0, 0, 1]),
    )
    ip = ip[:10] + struct.pack("!H", _ip_checksum(ip)) + ip[12:]
    ethernet = b"\x00" * 12 + b"\x08\x00"
    return ethernet + ip + udp


def rtp_packets(keys: str, start_ms: int = 0, first_seq: int = 1) -> list[tuple[float, bytes]]:
    """(seconds from start, RTP packet) for every packet of every key press;
    RTP timestamps count from ``start_ms`` into the call."""
    packets: list[tuple[float, bytes]] = []
    seq = first_seq
    now_ms = 0
    for key in keys:
        if key not in EVENT_CODES:
            raise ValueError(f"no RFC 4733 event for key {key!r}")
        timestamp = (start_ms + now_ms) * CLOCK // 1000  # each press has its own timestamp
        steps = PRESS_MS // PACKET_MS
        for step in range(1, steps + END_REPEATS + 1):
            end = step > steps
            duration = min(step, steps) * PACKET_MS * CLOCK // 1000
            marker = 0x80 if step == 1 else 0
            header = struct.pack(
                "!BBHII", 0x80, marker | PAYLOAD_TYPE, seq & 0xFFFF, timestamp, SSRC
            )
            payload = struct.pack("!BBH", EVENT_CODES[key], (0x80 if end else 0) | 10, duration)
            sent_ms = now_ms + min(step, steps) * PACKET_MS + (step - steps if end else 0) * 5
            packets.append((sent_ms / 1000, header + payload))
            seq += 1
        now_ms += PRESS_MS + GAP_MS
    return packets


def write_pcap(keys: str, path: Path, start_ms: int = 0, first_seq: int = 1) -> Path:
    """Write ``keys`` as RFC 4733 events into a pcap file at ``path``."""
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for seconds, rtp in rtp_packets(keys, start_ms, first_seq):
        frame = _frame(rtp)
        whole, frac = divmod(round(seconds * 1_000_000), 1_000_000)
        out += struct.pack("<IIII", whole, frac, len(frame), len(frame)) + frame
    path.write_bytes(bytes(out))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("keys", help="keys to press, e.g. '1123#*'")
    parser.add_argument("out", type=Path, help="pcap file to write")
    args = parser.parse_args()
    write_pcap(args.keys, args.out)


if __name__ == "__main__":
    main()
