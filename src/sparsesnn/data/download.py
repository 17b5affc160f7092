"""Checksum-verified downloads and file checks; files appear only complete and verified."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

from ..errors import ChecksumError, DatasetNotFoundError
from ..atomic import default_file_mode


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(path: Path, expected: str) -> None:
    actual = sha256(path)
    if actual != expected:
        raise ChecksumError(
            f"{path}: SHA-256 {actual} does not match the published {expected}; "
            "the file is corrupt or not the official release — delete it and download again"
        )


def download(urls: list[str], dest: Path, expected_sha256: str, timeout: float = 30.0) -> Path:
    """Fetch ``dest`` from the first URL that works; verify before the atomic rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in urls:
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                for chunk in iter(lambda: resp.read(1 << 20), b""):
                    out.write(chunk)
            verify(Path(tmp), expected_sha256)
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
