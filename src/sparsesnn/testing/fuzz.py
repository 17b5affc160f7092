"""Input fuzzers for the file parsers: every input must parse or raise the parser's clear error.

Used with 10⁴ inputs per parser in the test suite and 10⁵ in ``benchmarks/fuzz.py``.
"""

from __future__ import annotations

import gzip
import pickle
import struct
import time

import numpy as np

from ..data.cifar import parse_batch
from ..data.aedat import parse_aedat2, parse_aedat31
from ..data.events import parse_nmnist
from ..data.idx import parse_idx
from ..errors import ConfigError, DatasetError
from ..training.config import RunConfig


def _valid_idx(rng: np.random.Generator) -> bytes:
    shape = tuple(int(d) for d in rng.integers(1, 5, size=rng.integers(1, 4)))
    return struct.pack(">HBB", 0, 0x08, len(shape)) + struct.pack(">" + "I" * len(shape), *shape) + rng.integers(0, 256, size=int(np.prod(shape)), dtype=np.uint8).tobytes()


def idx_inputs(rng: np.random.Generator):
    """(bytes, gzipped) pairs: random bytes, and valid files truncated, bit-flipped or extended."""
    kind = rng.integers(0, 4)
    if kind == 0:
        return rng.integers(0, 256, size=rng.integers(0, 48), dtype=np.uint8).tobytes(), bool(rng.integers(0, 2))
    data = bytearray(_valid_idx(rng))
    gz = bool(rng.integers(0, 2))
    if kind == 1:
        data = data[: rng.integers(0, len(data) + 1)]
    elif kind == 2:
        for _ in range(rng.integers(1, 4)):
            data[rng.integers(0, len(data))] ^= 1 << int(rng.integers(0, 8))
    else:
        data += rng.integers(0, 256, size=rng.integers(1, 8), dtype=np.uint8).tobytes()
    raw = gzip.compress(bytes(data)) if gz else bytes(data)
    if gz and rng.integers(0, 2):  # damage the compressed stream too
        raw = raw[: rng.integers(0, len(raw) + 1)]
    return raw, gz


def nmnist_inputs(rng: np.random.Generator) -> bytes:
    """Random bytes, or whole events with random (possibly out-of-sensor) fields, truncated at random."""
    if rng.integers(0, 2):
        return rng.integers(0, 256, size=rng.integers(0, 40), dtype=np.uint8).tobytes()
    n = int(rng.integers(0, 8))
    data = rng.integers(0, 256, size=5 * n, dtype=np.uint8)
    data[0::5] = rng.integers(0, 40, size=n)  # x, sometimes past the 34-pixel sensor
    data[1::5] = rng.integers(0, 40, size=n)
    cut = int(rng.integers(0, 5 * n + 1)) if rng.integers(0, 3) == 0 else 5 * n
    return data[:cut].tobytes()


def cifar_inputs(rng: np.random.Generator) -> bytes:
    """Pickles of CIFAR-like dicts with wrong shapes, dtypes, labels or keys, truncated pickles, noise."""
    kind = rng.integers(0, 4)
    if kind == 0:
        return rng.integers(0, 256, size=rng.integers(0, 64), dtype=np.uint8).tobytes()
    n = int(rng.integers(0, 4))
    width = int(rng.choice([3072, 3071, 10]))
    dtype = rng.choice(["uint8", "int16", "float32"])
    batch = {b"data": np.zeros((n, width), dtype=dtype), b"labels": rng.integers(-1, 12, n).tolist()}
    if kind == 1:
        batch.pop(rng.choice([b"data", b"labels"]))
    raw = pickle.dumps(batch if kind != 3 else [batch])
    return raw[: rng.integers(0, len(raw) + 1)] if rng.integers(0, 3) == 0 else raw


def aedat31_inputs(rng: np.random.Generator) -> bytes:
    """AEDAT 3.1: valid header then packets with random fields (sizes, counts, coordinates), truncated."""
    out = bytearray(b"#!AER-DAT3.1\r\n#!END-HEADER\r\n" if rng.integers(0, 8) else b"#!AER-DAT3.1\r\n")
    for _ in range(int(rng.integers(0, 3))):
        n = int(rng.integers(-1, 5))
        size = int(rng.choice([8, 8, 4, 0]))
        out += struct.pack("<hhiiiiii", int(rng.integers(0, 3)), 1, size, 4, int(rng.integers(0, 2)), n, n, n)
        out += rng.integers(0, 256, size=max(0, n) * max(0, size), dtype=np.uint8).tobytes()
    return bytes(out[: rng.integers(0, len(out) + 1)]) if rng.integers(0, 3) == 0 else bytes(out)


_KEYS = {
    "data": ["dataset", "batch_size", "val_fraction", "data_dir", "download", "x"],
    "model": ["hidden", "T", "alpha", "threshold", "surrogate", "encoding", "weight_init", "bias"],
    "topology": ["sparsity", "regrowth", "removal", "delta_removal", "zeta", "early_stop_overlap", "init"],
    "train": ["epochs", "lr", "optimizer", "seed", "device", "dense"],
    "bogus": ["a"],
}
_VALUES = ["0", "1", "-1", "0.5", "1.0", "1e400", "-.inf", ".nan", "true", "null", "[]", "[1, 2]", "[64]",
           "'digits'", "mnist", "ch3_l3", "arctan", "{a: 1}", "''", "99999999999999999999", "[[1]]"]


def config_inputs(rng: np.random.Generator) -> str:
    """YAML text: random mixes of real and bogus sections, fields and values, or raw noise."""
    if rng.integers(0, 5) == 0:
        return rng.integers(0, 256, size=rng.integers(0, 64), dtype=np.uint8).tobytes().decode("latin-1")
    lines = []
    for section in rng.choice(list(_KEYS), size=rng.integers(1, 4), replace=False):
        lines.append(f"{section}:")
        keys = _KEYS[section]
        for key in rng.choice(keys, size=rng.integers(1, len(keys) + 1), replace=False):
            lines.append(f"  {key}: {rng.choice(_VALUES)}")
    if rng.integers(0, 4) == 0:
        lines.insert(int(rng.integers(0, len(lines) + 1)), rng.choice(["  - x", ":", "\t", "a: [", "? x"]))
    return "\n".join(lines)


def run(n: int, seed: int = 0) -> dict:
    """Feed ``n`` inputs to each parser; returns counts of parsed, rejected and crashed inputs."""
    rng = np.random.default_rng(seed)
    report = {}
    for name, make, parse, expected in (
        ("idx", idx_inputs, lambda a: parse_idx(a[0], gzipped=a[1]), DatasetError),
        ("config", config_inputs, RunConfig.from_text, ConfigError),
        ("nmnist", nmnist_inputs, parse_nmnist, DatasetError),
        ("cifar", cifar_inputs, lambda b: parse_batch(b, "<fuzz>", b"labels", 10), DatasetError),
        ("aedat3.1", aedat31_inputs, parse_aedat31, DatasetError),
        ("aedat2.0", lambda r: b"#!AER-DAT2.0\r\n" + r.integers(0, 256, size=r.integers(0, 48), dtype=np.uint8).tobytes(),
         parse_aedat2, DatasetError),
    ):
        ok = rejected = 0
        crashes: list[str] = []
        start = time.perf_counter()
        for _ in range(n):
            item = make(rng)
            try:
                parse(item)
                ok += 1
            except expected:
                rejected += 1
            except Exception as exc:  # a crash: anything but the parser's own error
                crashes.append(f"{type(exc).__name__}: {exc} <- {item!r:.200}")
        report[name] = {"inputs": n, "parsed": ok, "rejected": rejected, "crashes": crashes,
                        "seconds": time.perf_counter() - start}
    return report
