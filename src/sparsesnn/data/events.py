"""Event streams: the N-MNIST binary format and event → frame binning.

N-MNIST (Orchard et al. 2015): 5 bytes per event — byte 0 = x, byte 1 = y, bit 7 of byte 2 =
polarity, the remaining 23 bits (bytes 2–4, big-endian) = timestamp in µs; sensor 34 × 34.
"""

from __future__ import annotations

import numpy as np

from ..errors import DatasetError

EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("p", np.int8), ("t", np.int64)])
BINNINGS = ("bins", "time_window", "event_count")


def parse_nmnist(data: bytes, source: str = "<bytes>", sensor: tuple[int, int] = (34, 34)) -> np.ndarray:
    """Events of one N-MNIST recording; :class:`DatasetError` for malformed data."""
    if len(data) % 5:
        raise DatasetError(f"{source}: {len(data)} bytes is not a whole number of 5-byte N-MNIST events (truncated?)")
    raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, 5).astype(np.int64)
    ev = np.empty(raw.shape[0], dtype=EVENT_DTYPE)
    ev["x"], ev["y"] = raw[:, 0], raw[:, 1]
    ev["p"] = raw[:, 2] >> 7
    ev["t"] = ((raw[:, 2] & 0x7F) << 16) | (raw[:, 3] << 8) | raw[:, 4]
    if ev.size and (ev["x"].max() >= sensor[0] or ev["y"].max() >= sensor[1]):
        raise DatasetError(f"{source}: event coordinates outside the {sensor[0]}x{sensor[1]} sensor")
    return ev


def to_frames(
    events: np.ndarray,
    sensor: tuple[int, int],
    n_frames: int,
    mode: str = "bins",
    window_us: int | None = None,
    events_per_frame: int | None = None,
) -> np.ndarray:
    """Event counts ``[n_frames, 2, H, W]`` (polarity channels) of one recording.

    ``bins``: the recording's duration split into ``n_frames`` equal bins; ``time_window``:
    consecutive windows of ``window_us`` from the first event; ``event_count``: consecutive groups
    of ``events_per_frame`` events. Events past the last frame are dropped.
    """
    W, H = sensor
    frames = np.zeros((n_frames, 2, H, W), dtype=np.float32)
    if events.size == 0:
        return frames
    if mode == "bins":
        t0, t1 = int(events["t"].min()), int(events["t"].max())
        idx = ((events["t"] - t0) * n_frames // max(1, t1 - t0 + 1)).astype(np.int64)
    elif mode == "time_window":
        if not window_us or window_us <= 0:
            raise ValueError("time_window binning needs a positive window_us")
        idx = ((events["t"] - events["t"].min()) // window_us).astype(np.int64)
    elif mode == "event_count":
        if not events_per_frame or events_per_frame <= 0:
            raise ValueError("event_count binning needs a positive events_per_frame")
        idx = np.arange(events.size) // events_per_frame
    else:
        raise ValueError(f"binning mode must be one of {list(BINNINGS)}; got {mode!r}")
    keep = idx < n_frames
    np.add.at(frames, (idx[keep], events["p"][keep].astype(np.int64), events["y"][keep], events["x"][keep]), 1.0)
    return frames


def pool_frames(frames: np.ndarray, k: int) -> np.ndarray:
    """Max-pool ``[..., H, W]`` frames over k×k blocks (a pixel is active if any of its block is)."""
    if k == 1:
        return frames
    *lead, h, w = frames.shape
    if h % k or w % k:
        raise ValueError(f"downsample {k} must divide the sensor size {h}×{w}")
    return frames.reshape(*lead, h // k, k, w // k, k).max(axis=(-3, -1))
