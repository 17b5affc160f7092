import gzip
import hashlib
import shutil
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsesnn.data import load_dataset, load_digits, train_val_split
from sparsesnn.data import mnist as mnist_mod
from sparsesnn.data.download import download
from sparsesnn.data.idx import read_idx
from sparsesnn.errors import ChecksumError, DatasetError, DatasetNotFoundError


def _idx_bytes(arr: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def test_read_idx_round_trip(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a.gz").write_bytes(gzip.compress(_idx_bytes(arr)))
    (tmp_path / "a").write_bytes(_idx_bytes(arr))
    assert np.array_equal(read_idx(tmp_path / "a.gz"), arr)
    assert np.array_equal(read_idx(tmp_path / "a"), arr)


def test_truncated_and_corrupt_idx_files(tmp_path):
    raw = _idx_bytes(np.zeros((5, 2, 2)))
    (tmp_path / "short").write_bytes(raw[:-3])
    with pytest.raises(DatasetError, match="promises 20 data bytes"):
        read_idx(tmp_path / "short")
    (tmp_path / "short.gz").write_bytes(gzip.compress(raw)[:-10])
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        read_idx(tmp_path / "short.gz")
    (tmp_path / "magic").write_bytes(b"\x01\x02\x03\x04" + raw[4:])
    with pytest.raises(DatasetError, match="magic"):
        read_idx(tmp_path / "magic")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_idx_reader_fuzz(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "f"
    path.write_bytes(data)
    try:
        read_idx(path)
    except DatasetError:
        pass


def test_missing_mnist_names_the_file(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="train-images-idx3-ubyte.gz"):
        mnist_mod.load_mnist(tmp_path)


def test_corrupt_mnist_file_fails_checksum(tmp_path, mnist_dir):
    for name, _ in mnist_mod.FILES.values():
        shutil.copy(mnist_dir / name, tmp_path / name)
    p = tmp_path / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(p.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    p.write_bytes(bytes(raw))
    with pytest.raises(ChecksumError, match="t10k-labels"):
        mnist_mod.load_mnist(tmp_path)


def test_real_mnist(mnist_dir):
    train, test = mnist_mod.load_mnist(mnist_dir)
    assert train.x.shape == (60000, 784) and test.x.shape == (10000, 784)
    assert 0.0 <= float(train.x.min()) and float(train.x.max()) == 1.0
    assert sorted(set(test.y.tolist())) == list(range(10))


def test_download_verifies_checksum_and_is_atomic(tmp_path, http_root):
    root, url = http_root
    payload = b"real bytes"
    (root / "f.bin").write_bytes(payload)
    dest = tmp_path / "data" / "f.bin"
    with pytest.raises(ChecksumError):
        download([url + "f.bin"], dest, "0" * 64)
    assert not dest.exists() and not list(dest.parent.glob("*.part"))
    good = hashlib.sha256(payload).hexdigest()
    download([url + "missing.bin", url + "f.bin"], dest, good)  # first mirror 404s
    assert dest.read_bytes() == payload
    with pytest.raises(DatasetNotFoundError, match="could not download"):
        download([url + "missing.bin"], tmp_path / "x.bin", good)


def test_mnist_download_from_mirror(tmp_path, http_root, mnist_dir):
    root, url = http_root
    for name, _ in mnist_mod.FILES.values():
        shutil.copy(mnist_dir / name, root / name)
    train, test = mnist_mod.load_mnist(tmp_path / "mnist", download=True, mirrors=[url])
    assert len(train) == 60000 and len(test) == 10000


def test_digits_and_validation_split():
    train, test = load_digits()
    assert train.x.shape[1] == 64 and len(train) + len(test) == 1797
    assert float(train.x.max()) <= 1.0
    tr, val = train_val_split(train, 0.2, seed=3)
    assert len(tr) + len(val) == len(train)
    tr2, val2 = train_val_split(train, 0.2, seed=3)
    assert (val.y == val2.y).all()
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("cifar")
    with pytest.raises(ValueError, match="--data-dir"):
        load_dataset("mnist")
