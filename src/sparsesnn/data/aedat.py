"""AEDAT readers for DVS recordings: AEDAT 3.1 (DVS128 Gesture) and AEDAT 2.0 (CIFAR10-DVS).

AEDAT 3.1 (iniVation): ASCII header lines starting with ``#`` up to ``#!END-HEADER``, then
packets of a 28-byte little-endian header (type, source, event size, TS offset, TS overflow,
capacity, number, valid) followed by ``number × size`` bytes. Polarity events (type 1) are
8 bytes: a 32-bit word (bit 0 valid, bit 1 polarity, bits 2–16 y, bits 17–31 x) and a 32-bit
timestamp (µs), extended by ``TS overflow << 31``.

AEDAT 2.0 (jAER): ASCII header lines starting with ``#``, then big-endian pairs of 32-bit address
and 32-bit timestamp; DVS128 addresses hold polarity in bit 0, x in bits 1–7 and y in bits 8–14
(CIFAR10-DVS was recorded with a DVS128; x is mirrored in that addressing, so it is flipped back).
"""

from __future__ import annotations

import struct

import numpy as np

from ..errors import DatasetError
from .events import EVENT_DTYPE

POLARITY_EVENT = 1
_PACKET = struct.Struct("<hhiiiiii")


def _skip_header(data: bytes, source: str, end_marker: bytes | None) -> int:
    pos = 0
    while pos < len(data) and data[pos : pos + 1] == b"#":
        nl = data.find(b"\n", pos)
        if nl < 0:
            raise DatasetError(f"{source}: header line without end")
        line = data[pos:nl]
        pos = nl + 1
        if end_marker is not None and line.rstrip(b"\r").startswith(end_marker):
            return pos
    if end_marker is not None:
        raise DatasetError(f"{source}: no {end_marker.decode()} line: not an AEDAT 3.1 file")
    return pos


def parse_aedat31(data: bytes, source: str = "<bytes>", sensor: tuple[int, int] = (128, 128)) -> np.ndarray:
    """Polarity events of an AEDAT 3.1 file; :class:`DatasetError` for malformed data."""
    if not data.startswith(b"#!AER-DAT3"):
        raise DatasetError(f"{source}: not an AEDAT 3.x file (missing #!AER-DAT3 header)")
    pos = _skip_header(data, source, b"#!END-HEADER")
    chunks = []
    while pos < len(data):
        if len(data) - pos < _PACKET.size:
            raise DatasetError(f"{source}: truncated packet header at byte {pos}")
        etype, _, esize, _, overflow, _, number, _ = _PACKET.unpack_from(data, pos)
        pos += _PACKET.size
        if esize <= 0 or number < 0:
            raise DatasetError(f"{source}: bad packet (event size {esize}, count {number}) at byte {pos}")
        end = pos + esize * number
        if end > len(data):
            raise DatasetError(f"{source}: packet of {number} events runs past the end of the file (truncated?)")
        if etype == POLARITY_EVENT:
            if esize != 8:
                raise DatasetError(f"{source}: polarity events must be 8 bytes, got {esize}")
            raw = np.frombuffer(data, dtype="<u4", count=2 * number, offset=pos).reshape(number, 2)
            word = raw[:, 0]
            valid = (word & 1).astype(bool)
            ev = np.empty(int(valid.sum()), dtype=EVENT_DTYPE)
            ev["x"] = (word[valid] >> 17) & 0x7FFF
            ev["y"] = (word[valid] >> 2) & 0x7FFF
            ev["p"] = (word[valid] >> 1) & 1
            ev["t"] = raw[valid, 1].astype(np.int64) + (np.int64(overflow) << 31)
            chunks.append(ev)
        pos = end
    events = np.concatenate(chunks) if chunks else np.empty(0, dtype=EVENT_DTYPE)
    if events.size and (events["x"].max() >= sensor[0] or events["y"].max() >= sensor[1]):
        raise DatasetError(f"{source}: event coordinates outside the {sensor[0]}x{sensor[1]} sensor")
    return events


def parse_aedat2(data: bytes, source: str = "<bytes>", sensor: tuple[int, int] = (128, 128)) -> np.ndarray:
    """Polarity events of an AEDAT 2.0 DVS128 recording (CIFAR10-DVS)."""
    pos = _skip_header(data, source, None)
    body = len(data) - pos
    if body % 8:
        raise DatasetError(f"{source}: {body} event bytes is not a whole number of 8-byte AEDAT 2.0 events (truncated?)")
    raw = np.frombuffer(data, dtype=">u4", offset=pos).reshape(-1, 2)
    addr = raw[:, 0]
    ev = np.empty(raw.shape[0], dtype=EVENT_DTYPE)
    ev["x"] = sensor[0] - 1 - ((addr >> 1) & 0x7F)
    ev["y"] = (addr >> 8) & 0x7F
    ev["p"] = addr & 1
    ev["t"] = raw[:, 1].astype(np.int64)
    return ev
