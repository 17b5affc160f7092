"""The published archives of the event data sets — where each lives, the MD5 its publisher
lists — and their safe, atomic unpacking into a data folder.

DVS128 Gesture is distributed through an IBM Box folder that needs a browser, so it has no URL
here: put ``DvsGesture.tar.gz`` in the data folder and it is verified and unpacked like the rest.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import DatasetError, DatasetNotFoundError
from .download import download, verify


@dataclass(frozen=True)
class Archive:
    name: str
    urls: tuple[str, ...]
    md5: str
    provides: str  # the top-level file or folder it unpacks to


_MENDELEY = "https://data.mendeley.com/public-files/datasets/468j46mzdv/files/"
NMNIST = (
    Archive("Train.zip", (_MENDELEY + "39c25547-014b-4137-a934-9d29fa53c7a0/file_downloaded",), "20959b8e626244a1b502305a9e6e2031", "Train"),
    Archive("Test.zip", (_MENDELEY + "05a4d654-7e03-4c15-bdfa-9bb2bcbea494/file_downloaded",), "69ca8762b2fe404d9b9bad1103e97832", "Test"),
)
SHD = tuple(
    Archive(f"shd_{part}.h5.zip", (f"https://zenkelab.org/datasets/shd_{part}.h5.zip", f"https://compneuro.net/datasets/shd_{part}.h5.zip"),
            md5, f"shd_{part}.h5")
    for part, md5 in (("train", "f3252aeb598ac776c1b526422d90eecb"), ("test", "1503a5064faa34311c398fb0a1ed0a6f"))
)
CIFAR10_DVS = tuple(
    Archive(f"{cls}.zip", (f"https://ndownloader.figshare.com/files/{file_id}",), md5, cls)
    for cls, file_id, md5 in (
        ("airplane", 7712788, "0afd5c4bf9ae06af762a77b180354fdd"),
        ("automobile", 7712791, "8438dfeba3bc970c94962d995b1b9bdd"),
        ("bird", 7712794, "a9c207c91c55b9dc2002dc21c684d785"),
        ("cat", 7712812, "52c63c677c2b15fa5146a8daf4d56687"),
        ("deer", 7712815, "b6bf21f6c04d21ba4e23fc3e36c8a4a3"),
        ("dog", 7712818, "f379ebdf6703d16e0a690782e62639c3"),
        ("frog", 7712842, "cad6ed91214b1c7388a5f6ee56d08803"),
        ("horse", 7712851, "e7cbbf77bec584ffbf913f00e682782a"),
        ("ship", 7712836, "41c7bd7d6b251be82557c6cce9a7d5c9"),
        ("truck", 7712839, "89f3922fd147d9aeff89e76a2b0b70a7"),
    )
)
DVS_GESTURE = (Archive("DvsGesture.tar.gz", (), "8a5c71fb11e24e5ca5b11866ca6c00a1", "DvsGesture"),)


def fetch(data_dir: Path, archive: Archive, dataset: str) -> Path:
    """``data_dir/archive.name``, downloaded (MD5-verified, atomic) when missing."""
    path = data_dir / archive.name
    if path.exists():
        return path
    if not archive.urls:
        raise DatasetNotFoundError(f"{dataset}: {path} not found; its publisher offers no direct download — fetch it by hand")
    return download(list(archive.urls), path, archive.md5, algorithm="md5")


def unpack(path: Path, archive: Archive, dest: Path) -> None:
    """Verify ``path`` against the published MD5 and extract it into ``dest``: into a temporary
    folder first, then each top-level entry is renamed into place, so an interrupted run leaves
    no half-written data set; entries already in ``dest`` are kept as they are. Members that
    would land outside ``dest`` are refused."""
    verify(path, archive.md5, "md5")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=f".{archive.name}.") as tmp:
        try:
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as z:
                    z.extractall(tmp)  # zipfile drops absolute paths and '..' from member names
            else:
                with tarfile.open(path) as t:
                    t.extractall(tmp, filter="data")  # refuses links and paths leaving tmp
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
            raise DatasetError(f"{path}: cannot unpack ({type(exc).__name__}: {exc})") from None
        for entry in sorted(os.listdir(tmp)):
            if not (dest / entry).exists():
                os.replace(os.path.join(tmp, entry), dest / entry)


def ensure(data_dir: Path, archives: tuple[Archive, ...], allow_download: bool, dataset: str) -> None:
    """Unpack every archive whose entry is missing from ``data_dir`` — the archive found there, or
    downloaded first when ``allow_download``. Without either, nothing happens and the loader
    reports the missing files."""
    for archive in archives:
        if (data_dir / archive.provides).exists() or not (allow_download or (data_dir / archive.name).exists()):
            continue
        unpack(fetch(data_dir, archive, dataset), archive, data_dir)
        if not (data_dir / archive.provides).exists():
            raise DatasetError(f"{dataset}: {archive.name} unpacked without the expected {archive.provides}")
