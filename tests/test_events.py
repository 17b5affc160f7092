import numpy as np
import pytest
import torch

from sparsesnn.data.events import parse_nmnist, to_frames
from sparsesnn.data.nmnist import load_nmnist
from sparsesnn.errors import DatasetError, DatasetNotFoundError


def encode(events):
    """N-MNIST bytes for (x, y, p, t) tuples (the real on-disk format)."""
    out = bytearray()
    for x, y, p, t in events:
        out += bytes([x, y, (p << 7) | ((t >> 16) & 0x7F), (t >> 8) & 0xFF, t & 0xFF])
    return bytes(out)


def test_parse_round_trip_and_errors():
    evs = [(0, 0, 0, 0), (33, 5, 1, 1000), (7, 33, 1, 2**23 - 1)]
    ev = parse_nmnist(encode(evs))
    assert list(zip(ev["x"], ev["y"], ev["p"], ev["t"])) == evs
    with pytest.raises(DatasetError, match="5-byte"):
        parse_nmnist(encode(evs)[:-2])
    with pytest.raises(DatasetError, match="outside"):
        parse_nmnist(encode([(40, 0, 0, 0)]))


def test_binning_modes():
    ev = parse_nmnist(encode([(1, 2, 0, 0), (1, 2, 0, 10), (3, 4, 1, 50), (3, 4, 1, 99)]))
    f = to_frames(ev, (34, 34), 2, "bins")  # duration 100 µs → bins [0, 50), [50, 100)
    assert f.shape == (2, 2, 34, 34) and f[0, 0, 2, 1] == 2 and f[1, 1, 4, 3] == 2 and f.sum() == 4
    w = to_frames(ev, (34, 34), 3, "time_window", window_us=20)  # windows [0,20), [20,40), [40,60): event at 99 dropped
    assert w[0, 0, 2, 1] == 2 and w[2, 1, 4, 3] == 1 and w.sum() == 3
    c = to_frames(ev, (34, 34), 2, "event_count", events_per_frame=3)
    assert c[0].sum() == 3 and c[1].sum() == 1
    with pytest.raises(ValueError):
        to_frames(ev, (34, 34), 2, "time_window")


def _write_subset(root, n_train=12, n_test=4):
    rng = np.random.default_rng(0)
    lines = {"train": ["#sample #class"], "test": ["#sample #class"]}
    for i in range(1, n_train + n_test + 1):
        split = "train" if i <= n_train else "test"
        evs = [(int(rng.integers(34)), int(rng.integers(34)), int(rng.integers(2)), int(t)) for t in sorted(rng.integers(0, 300000, 50))]
        (root / f"{i}.bs2").write_bytes(encode(evs))
        lines[split].append(f"{i}\t{i % 10}")
    (root / "train1K.txt").write_text("\n".join(lines["train"]) + "\n")
    (root / "test100.txt").write_text("\n".join(lines["test"]) + "\n")


def test_subset_layout_and_cache(tmp_path):
    root = tmp_path / "nm"
    root.mkdir()
    _write_subset(root)
    tr, te = load_nmnist(root, T=5, cache_dir=tmp_path / "cache")
    assert tr.x.shape == (12, 5, 2, 34, 34) and te.x.shape == (4, 5, 2, 34, 34) and tr.events
    assert tr.x.max() == 1 and tr.y.tolist() == [i % 10 for i in range(1, 13)]
    (cache,) = (tmp_path / "cache").iterdir()
    cache.write_bytes(b"damaged")  # a damaged cache is rebuilt
    tr2, _ = load_nmnist(root, T=5, cache_dir=tmp_path / "cache")
    assert torch.equal(tr.x, tr2.x)
    (root / "3.bs2").unlink()
    with pytest.raises(DatasetNotFoundError, match="3.bs2"):
        load_nmnist(root, T=5, cache_dir=tmp_path / "cache2")


def test_official_layout(tmp_path):
    for split in ("Train", "Test"):
        for digit in (0, 7):
            d = tmp_path / split / str(digit)
            d.mkdir(parents=True)
            (d / "00001.bin").write_bytes(encode([(digit, digit, 1, 10), (2, 3, 0, 20)]))
    tr, te = load_nmnist(tmp_path, T=2, cache_dir=tmp_path / "cache")
    assert tr.y.tolist() == [0, 7] and te.x.shape == (2, 2, 2, 34, 34)
    assert tr.x[1, :, 1, 7, 7].sum() == 1


def test_downsampled_frames_are_block_maxima(tmp_path):
    root = tmp_path / "nm"
    root.mkdir()
    _write_subset(root)
    full, _ = load_nmnist(root, T=3, cache_dir=tmp_path / "c")
    half, _ = load_nmnist(root, T=3, cache_dir=tmp_path / "c", downsample=2)
    assert half.x.shape == (12, 3, 2, 17, 17)
    assert torch.equal(half.x, full.x.unflatten(-1, (17, 2)).unflatten(-3, (17, 2)).amax(dim=(-3, -1)))
    with pytest.raises(ValueError, match="divide"):
        load_nmnist(root, T=3, downsample=3)


def test_missing_folder_and_listing(tmp_path):
    with pytest.raises(DatasetNotFoundError):
        load_nmnist(tmp_path / "nope")
    with pytest.raises(DatasetNotFoundError, match="train"):
        load_nmnist(tmp_path)


def test_real_subset_if_present(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "n-mnist" / "NMNISTsmall"
    if not root.exists():
        pytest.skip("shared N-MNIST subset not present")
    tr, te = load_nmnist(root, T=8, cache_dir=tmp_path)
    assert len(tr) == 1000 and len(te) == 100 and 0.01 < float(tr.x.float().mean()) < 0.5


def _nmnist_zip(path, split, digits):
    """An archive laid out as the published Train.zip / Test.zip: ``<Split>/<digit>/<id>.bin``."""
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        for d in digits:
            z.writestr(f"{split}/{d}/0000{d}.bin", encode([(d, d, 1, 10), (2, 3, 0, 20)]))
    return path


def test_download_verifies_and_unpacks_the_published_archives(tmp_path, http_root, monkeypatch):
    import hashlib

    from sparsesnn.data import archives, nmnist
    from sparsesnn.errors import ChecksumError

    served, url = http_root
    table = tuple(
        archives.Archive(f"{s}.zip", (url + "missing.zip", url + f"{s}.zip"),
                         hashlib.md5(_nmnist_zip(served / f"{s}.zip", s, (0, 7)).read_bytes()).hexdigest(), s)
        for s in ("Train", "Test")
    )
    monkeypatch.setattr(nmnist, "NMNIST", table)
    with pytest.raises(DatasetNotFoundError, match="--download"):  # no data and no --download: nothing fetched
        load_nmnist(tmp_path / "d0", T=2)
    tr, te = load_nmnist(tmp_path / "d1", T=2, cache_dir=tmp_path / "c", download=True)
    assert tr.y.tolist() == [0, 7] and te.x.shape == (2, 2, 2, 34, 34) and tr.x[1, :, 1, 7, 7].sum() == 1
    # an archive already in the folder is verified and unpacked without the network
    local = tmp_path / "d2"
    local.mkdir()
    for s in ("Train", "Test"):
        (local / f"{s}.zip").write_bytes((served / f"{s}.zip").read_bytes())
    assert load_nmnist(local, T=2, cache_dir=tmp_path / "c")[0].y.tolist() == [0, 7]
    # a corrupt archive: named checksum error, and no half-unpacked data left behind
    bad = tmp_path / "d3"
    bad.mkdir()
    (bad / "Train.zip").write_bytes(b"PK\x03\x04 corrupted")
    with pytest.raises(ChecksumError, match="MD5"):
        load_nmnist(bad, T=2)
    assert sorted(p.name for p in bad.iterdir()) == ["Train.zip"]


def test_unpacking_keeps_members_inside_and_existing_files(tmp_path):
    import hashlib
    import zipfile

    from sparsesnn.data.archives import Archive, unpack

    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("../escape.txt", "x")
        z.writestr("/abs.txt", "y")
        z.writestr("keep.txt", "new")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    unpack(path, Archive("a.zip", (), hashlib.md5(path.read_bytes()).hexdigest(), "escape.txt"), dest)
    assert not (tmp_path / "escape.txt").exists() and (dest / "escape.txt").read_text() == "x"
    assert (dest / "abs.txt").exists() and (dest / "keep.txt").read_text() == "mine"
    assert not [p for p in dest.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_reservoir_classifies_nmnist_events_through_the_cli(tmp_path, capsys):
    """Two classes whose events come from two different sets of 12 pixels (as a digit's strokes
    recur): the HRSNN's readouts must separate held-out recordings (chance is 50 %)."""
    import json

    from sparsesnn.cli.main import main

    rng = np.random.default_rng(0)
    root = tmp_path / "nm"
    root.mkdir()
    lines = {"train": [], "test": []}
    strokes = rng.integers(0, 34, (2, 12, 2))
    for i in range(1, 61):
        label = i % 2
        px = strokes[label][rng.integers(0, 12, 80)]
        evs = [(int(x), int(y), int(rng.integers(2)), int(t)) for (x, y), t in zip(px, sorted(rng.integers(0, 300000, 80)))]
        (root / f"{i}.bs2").write_bytes(encode(evs))
        lines["train" if i <= 48 else "test"].append(f"{i} {label}")
    (root / "train.txt").write_text("\n".join(lines["train"]) + "\n")
    (root / "test.txt").write_text("\n".join(lines["test"]) + "\n")
    out = tmp_path / "res"
    assert main(["reservoir", "--task", "nmnist", "--data-dir", str(root), "--neurons", "80", "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["accuracy"] >= 0.8 and s["sops_per_sample"] > 0 and s["neurons"] == 80
    # HeNB: the same reservoir's recurrent layer trained by BPTT instead of STDP, Dale's law kept
    bp = tmp_path / "bp"
    assert main(["reservoir", "--task", "nmnist", "--data-dir", str(root), "--neurons", "80", "--training", "backprop",
                 "--out", str(bp)]) == 0
    s = json.loads((bp / "summary.json").read_text())
    assert s["accuracy"] >= 0.8 and s["dale_violations"] == 0 and s["train_loss"][-1] < s["train_loss"][0]
    # BO over the distributions with the validation fifth of the training set as objective
    bo = tmp_path / "bo"
    assert main(["bayesopt", "--task", "nmnist", "--data-dir", str(root), "--neurons", "60", "--init", "2", "--iterations", "1",
                 "--seeds-per-eval", "1", "--out", str(bo)]) == 0
    s = json.loads((bo / "bo_summary.json").read_text())
    assert s["objective"] == "val_accuracy" and 0.0 <= s["best_objective"] <= 1.0 and "accuracy" in s["test"]
    assert main(["bayesopt", "--task", "nmnist", "--data-dir", str(root), "--objective", "val_nrmse", "--out", str(tmp_path / "b2")]) == 2
    assert "val_accuracy" in capsys.readouterr().err
