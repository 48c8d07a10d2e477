"""The RFC 4733 pcap generator for SIPp."""

import struct
from pathlib import Path

import pytest

from tests.sipp.dtmf_pcap import EVENT_CODES, rtp_packets, write_pcap

pytestmark = pytest.mark.unit


def parse_rtp(packet: bytes) -> tuple[bool, int, int, int, bool, int]:
    _, marker_pt, seq, timestamp, _ = struct.unpack("!BBHII", packet[:12])
    event, flags, duration = struct.unpack("!BBH", packet[12:16])
    return bool(marker_pt & 0x80), seq, timestamp, event, bool(flags & 0x80), duration


def test_every_press_has_its_own_timestamp_so_repeats_survive() -> None:
    presses: dict[int, list[int]] = {}
    seqs = []
    for _, packet in rtp_packets("11*#"):
        _, seq, timestamp, event, _, _ = parse_rtp(packet)
        presses.setdefault(timestamp, []).append(event)
        seqs.append(seq)
    assert [events[0] for events in presses.values()] == [1, 1, 10, 11]
    assert len(presses) == 4
    assert seqs == list(range(1, len(seqs) + 1))


def test_a_later_pcap_of_the_same_call_goes_on_from_where_the_call_is() -> None:
    first = rtp_packets("1")
    later = rtp_packets("1", start_ms=5000, first_seq=len(first) + 1)
    assert {parse_rtp(p)[2] for _, p in first} == {0}
    assert {parse_rtp(p)[2] for _, p in later} == {5000 * 8}  # 8 kHz RTP clock
    assert parse_rtp(later[0][1])[1] == len(first) + 1
    assert later[0][0] == first[0][0]  # sent as soon as the pcap plays


def test_each_press_starts_with_marker_and_ends_with_three_end_packets() -> None:
    packets = [parse_rtp(p) for _, p in rtp_packets("5")]
    assert packets[0][0] is True and not any(p[0] for p in packets[1:])
    ends = [p for p in packets if p[4]]
    assert len(ends) == 3 and len({p[5] for p in ends}) == 1
    assert packets[-1] == ends[-1]


def test_pcap_file_has_a_header_and_one_record_per_packet(tmp_path: Path) -> None:
    path = write_pcap("1#", tmp_path / "keys.pcap")
    data = path.read_bytes()
    magic, _, _, _, _, _, linktype = struct.unpack("<IHHiIII", data[:24])
    assert magic == 0xA1B2C3D4 and linktype == 1
    count, offset = 0, 24
    while offset < len(data):
        _, _, length, _ = struct.unpack("<IIII", data[offset : offset + 16])
        offset += 16 + length
        count += 1
    assert count == len(rtp_packets("1#"))


def test_unknown_key_is_refused() -> None:
    assert EVENT_CODES["#"] == 11 and EVENT_CODES["*"] == 10
    with pytest.raises(ValueError, match="no RFC 4733 event"):
        rtp_packets("1x")
