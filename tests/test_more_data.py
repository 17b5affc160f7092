import hashlib
import pickle
import tarfile

import numpy as np
import pytest

from sparsesnn.data import load_dataset
from sparsesnn.data.cifar import parse_batch
from sparsesnn.data.mnist import IDX_DATASETS, load_idx_dataset
from sparsesnn.data.shd import read_shd
from sparsesnn.errors import ChecksumError, DatasetError, DatasetNotFoundError


def _batch(n, label_key=b"labels", classes=10, seed=0):
    rng = np.random.default_rng(seed)
    return {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), label_key: rng.integers(0, classes, n).tolist(),
            b"batch_label": b"test"}


def test_cifar10_folder_and_archive(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / name).write_bytes(pickle.dumps(_batch(4)))
    train, test = load_dataset("cifar10", tmp_path)
    assert train.x.shape == (20, 3072) and test.x.shape == (4, 3072) and float(train.x.max()) <= 1.0
    # the archive path: extracted on first use
    arch_root = tmp_path / "arch"
    arch_root.mkdir()
    with tarfile.open(arch_root / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    train2, _ = load_dataset("cifar10", arch_root)
    assert (train2.x == train.x).all()


def test_cifar100_fine_labels_and_errors(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    (folder / "train").write_bytes(pickle.dumps(_batch(6, b"fine_labels", 100)))
    (folder / "test").write_bytes(pickle.dumps(_batch(2, b"fine_labels", 100)))
    train, _ = load_dataset("cifar100", tmp_path)
    assert int(train.y.max()) < 100
    with pytest.raises(DatasetNotFoundError):
        load_dataset("cifar10", tmp_path)


def test_cifar_pickles_cannot_run_code():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with pytest.raises(DatasetError, match="not allowed"):
        parse_batch(pickle.dumps({b"data": Evil()}), "evil", b"labels", 10)
    with pytest.raises(DatasetError, match="CIFAR-shaped"):
        parse_batch(pickle.dumps({b"data": np.zeros((2, 5), np.uint8), b"labels": [0, 1]}), "bad", b"labels", 10)
    with pytest.raises(DatasetError):
        parse_batch(b"\x80\x04garbage", "garbage", b"labels", 10)


def test_fashion_mnist_verifies_published_md5(tmp_path):
    import gzip

    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03" + bytes(12)))
    with pytest.raises(ChecksumError, match="MD5"):
        load_idx_dataset("fashion_mnist", tmp_path)
    assert IDX_DATASETS["fashion_mnist"]["algorithm"] == "md5"
    assert hashlib.md5(b"").hexdigest() not in IDX_DATASETS["fashion_mnist"]["digests"].values()


def _write_shd(path):
    """Two samples in the SHD HDF5 layout (variable-length spikes/times and spikes/units, labels)."""
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        g = f.create_group("spikes")
        t = g.create_dataset("times", (2,), dtype=h5py.vlen_dtype(np.float32))
        u = g.create_dataset("units", (2,), dtype=h5py.vlen_dtype(np.uint16))
        t[0], u[0] = np.array([0.0, 0.015, 0.5], np.float32), np.array([3, 3, 699], np.uint16)
        t[1], u[1] = np.array([0.001], np.float32), np.array([10], np.uint16)
        f.create_dataset("labels", data=np.array([4, 19]))
    return path


def test_shd_hdf5(tmp_path):
    h5py = pytest.importorskip("h5py")
    s = read_shd(_write_shd(tmp_path / "shd_train.h5"), T=100, bin_ms=14.0)
    assert s.x.shape == (2, 100, 700) and s.events and s.y.tolist() == [4, 19]
    assert s.x[0, 0, 3] == 1 and s.x[0, 1, 3] == 1 and s.x[0, 35, 699] == 1 and int(s.x.sum()) == 4
    bad = tmp_path / "bad.h5"
    with h5py.File(bad, "w") as f:
        f.create_dataset("labels", data=np.array([1]))
    with pytest.raises(DatasetError, match="spikes/times"):
        read_shd(bad)
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(DatasetError):
        read_shd(tmp_path / "junk.h5")


def test_shd_published_zips_are_verified_and_unpacked(tmp_path, monkeypatch):
    import zipfile

    from sparsesnn.data import archives, shd

    data = tmp_path / "data"
    data.mkdir()
    table = []
    for part in ("train", "test"):
        h5, zpath = _write_shd(tmp_path / f"shd_{part}.h5"), data / f"shd_{part}.h5.zip"
        with zipfile.ZipFile(zpath, "w") as z:
            z.write(h5, h5.name)
        table.append(archives.Archive(zpath.name, (), hashlib.md5(zpath.read_bytes()).hexdigest(), h5.name))
    monkeypatch.setattr(shd, "SHD", tuple(table))
    train, test = shd.load_shd(data, T=10)
    assert train.y.tolist() == [4, 19] and test.x.shape == (2, 10, 700)
    with pytest.raises(DatasetNotFoundError, match="--download"):
        shd.load_shd(tmp_path / "empty")


def test_reservoir_runs_on_shd_files(tmp_path):
    """The HRSNN classification path on SHD's HDF5 layout (700 channels, frames from a config)."""
    import json

    import yaml

    from sparsesnn.cli.main import main

    data = tmp_path / "shd"
    data.mkdir()
    for part in ("train", "test"):
        _write_shd(data / f"shd_{part}.h5")
    cfg = tmp_path / "r.yaml"
    cfg.write_text(yaml.safe_dump({"reservoir": {"neurons": 30}, "task": {"task": "shd", "data_dir": str(data), "frames": 40}}))
    assert main(["reservoir", "--config", str(cfg), "--out", str(tmp_path / "run")]) == 0
    s = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert 0.0 <= s["accuracy"] <= 1.0 and s["neurons"] == 30 and s["spikes_per_sample"] >= 0
