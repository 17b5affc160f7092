"""Build the compiled kernels (``kernels.cpp``) with the system C++ compiler on first use.

The shared library is cached per source hash, compiler flags and CPU under
``$SPARSESNN_CACHE`` (default ``~/.cache/sparsesnn``) and written atomically (compiled to a
temporary name, then renamed), so concurrent ranks under torchrun never load a half-written file.
``-march=native`` is tried first (AVX2/AVX-512 tiles), then a portable build.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

SOURCE = Path(__file__).with_name("kernels.cpp")
FLAG_SETS = (
    ["-O3", "-march=native", "-fopenmp", "-std=c++17", "-shared", "-fPIC"],
    ["-O3", "-fopenmp", "-std=c++17", "-shared", "-fPIC"],
)


def cache_dir() -> Path:
    return Path(os.environ.get("SPARSESNN_CACHE", Path.home() / ".cache" / "sparsesnn")) / "native"


def _cpu_id() -> str:
    try:
        info = Path("/proc/cpuinfo").read_text()
        flags = next((line for line in info.splitlines() if line.startswith("flags")), "")
        model = next((line for line in info.splitlines() if line.startswith("model name")), "")
        return model + flags
    except OSError:
        return platform.processor()


def compiler() -> str | None:
    return os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")


def build() -> Path:
    """Path of the compiled library, compiling it if needed; raises ``RuntimeError`` with the
    compiler's message when no flag set works."""
    cxx = compiler()
    if cxx is None:
        raise RuntimeError("no C++ compiler found (set CXX or install g++)")
    source = SOURCE.read_bytes()
    errors = []
    for flags in FLAG_SETS:
        key = hashlib.sha256(source + " ".join([cxx, *flags]).encode() + _cpu_id().encode()).hexdigest()[:16]
        target = cache_dir() / f"sparsesnn_kernels_{key}.so"
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
        os.close(fd)
        proc = subprocess.run([cxx, *flags, str(SOURCE), "-o", tmp], capture_output=True, text=True)
        if proc.returncode == 0:
            os.replace(tmp, target)
            return target
        os.unlink(tmp)
        errors.append(f"{' '.join(flags)}: {proc.stderr.strip()[-500:]}")
    raise RuntimeError("compiling the kernels failed: " + " | ".join(errors))
