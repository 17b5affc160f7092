"""Checksum-verified downloads and file checks; files appear only complete and verified."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

from ..errors import ChecksumError, DatasetNotFoundError
from ..atomic import default_file_mode


def digest(path: str | Path, algorithm: str = "sha256") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(path: Path, expected: str, algorithm: str = "sha256") -> None:
    """Compare ``path`` with the digest its publisher gives (SHA-256, or MD5 where that is all
    the publisher lists)."""
    actual = digest(path, algorithm)
    if actual != expected:
        raise ChecksumError(
            f"{path}: {algorithm.upper()} {actual} does not match the published {expected}; "
            "the file is corrupt or not the official release — delete it and download again"
        )


def download(urls: list[str], dest: Path, expected: str, timeout: float = 30.0, algorithm: str = "sha256") -> Path:
    """Fetch ``dest`` from the first URL that works; verify before the atomic rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in urls:
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                for chunk in iter(lambda: resp.read(1 << 20), b""):
                    out.write(chunk)
            verify(Path(tmp), expected, algorithm)
            os.chmod(tmp, default_file_mode())
            os.replace(tmp, dest)
            return dest
        except ChecksumError:
            os.unlink(tmp)
            raise
        except OSError as exc:  # network errors: try the next mirror
            errors.append(f"{url}: {exc}")
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise DatasetNotFoundError(f"could not download {dest.name}: " + "; ".join(errors))
