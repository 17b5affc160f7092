import struct

import numpy as np
import pytest

from sparsesnn.data import load_dataset
from sparsesnn.data.aedat import parse_aedat2, parse_aedat31
from sparsesnn.errors import DatasetError, DatasetNotFoundError

HEADER3 = b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n"


def aedat31(events, other_packet=True, overflow=0):
    """AEDAT 3.1 bytes: an optional non-polarity packet, then one polarity packet."""
    out = bytearray(HEADER3)
    if other_packet:  # a special-event packet (type 0) the reader must skip
        out += struct.pack("<hhiiiiii", 0, 1, 8, 4, 0, 1, 1, 1) + bytes(8)
    body = bytearray()
    for x, y, p, t, valid in events:
        body += struct.pack("<II", (x << 17) | (y << 2) | (p << 1) | valid, t)
    out += struct.pack("<hhiiiiii", 1, 1, 8, 4, overflow, len(events), len(events), len(events)) + body
    return bytes(out)


def aedat2(events):
    out = bytearray(b"#!AER-DAT2.0\r\n# This is a raw AE data file\r\n")
    for x, y, p, t in events:
        out += struct.pack(">II", ((127 - x) << 1) | (y << 8) | p, t)
    return bytes(out)


def test_aedat31_round_trip_invalid_events_and_overflow():
    ev = parse_aedat31(aedat31([(5, 7, 1, 100, 1), (127, 0, 0, 200, 1), (3, 3, 1, 300, 0)], overflow=1))
    assert ev["x"].tolist() == [5, 127] and ev["y"].tolist() == [7, 0] and ev["p"].tolist() == [1, 0]
    assert ev["t"].tolist() == [100 + 2**31, 200 + 2**31]
    with pytest.raises(DatasetError, match="AEDAT 3"):
        parse_aedat31(b"#!AER-DAT2.0\r\n")
    with pytest.raises(DatasetError, match="truncated|past the end"):
        parse_aedat31(aedat31([(1, 1, 1, 1, 1)] * 3)[:-5])
    with pytest.raises(DatasetError, match="END-HEADER"):
        parse_aedat31(b"#!AER-DAT3.1\r\n#no end\r\n")


def test_aedat2_round_trip_and_truncation():
    ev = parse_aedat2(aedat2([(0, 5, 1, 10), (100, 127, 0, 20)]))
    assert ev["x"].tolist() == [0, 100] and ev["y"].tolist() == [5, 127] and ev["p"].tolist() == [1, 0]
    with pytest.raises(DatasetError, match="8-byte"):
        parse_aedat2(aedat2([(0, 0, 0, 0)])[:-3])


def test_dvs_gesture_folder(tmp_path):
    rng = np.random.default_rng(0)
    for user, split in (("user01_led", "train"), ("user24_fluorescent", "test")):
        events = [(int(rng.integers(128)), int(rng.integers(128)), int(rng.integers(2)), int(t), 1)
                  for t in sorted(rng.integers(0, 3_000_000, 400))]
        (tmp_path / f"{user}.aedat").write_bytes(aedat31(events))
        (tmp_path / f"{user}_labels.csv").write_text("class,startTime_usec,endTime_usec\n1,0,1000000\n11,1000000,3000000\n")
        (tmp_path / f"trials_to_{split}.txt").write_text(f"{user}.aedat\n")
    train, test = load_dataset("dvs_gesture", tmp_path, T=4)
    assert train.x.shape == (2, 4, 2, 32, 32) and train.y.tolist() == [0, 10] and train.events
    assert len(test) == 2 and train.x.max() == 1
    (tmp_path / "user01_led_labels.csv").write_text("class,startTime_usec,endTime_usec\n12,0,5\n")
    with pytest.raises(DatasetError, match="outside 1..11"):
        load_dataset("dvs_gesture", tmp_path, T=4)


def test_cifar10_dvs_folders(tmp_path):
    from sparsesnn.data.dvs import CIFAR10_DVS_CLASSES

    for cls in CIFAR10_DVS_CLASSES:
        (tmp_path / cls).mkdir()
        for i in range(10):
            (tmp_path / cls / f"cifar10_{cls}_{i}.aedat").write_bytes(aedat2([(i, i, 1, 5), (3, 4, 0, 9 + i)]))
    train, test = load_dataset("cifar10_dvs", tmp_path, T=2)
    assert len(train) == 90 and len(test) == 10 and sorted(test.y.tolist()) == list(range(10))
    assert train.x.shape[1:] == (2, 2, 32, 32)
    (tmp_path / "ship" / "cifar10_ship_0.aedat").unlink()
    (tmp_path / "truck").rename(tmp_path / "lorry")
    with pytest.raises(DatasetNotFoundError, match="truck"):
        load_dataset("cifar10_dvs", tmp_path, T=2)


def test_dvs_frames_are_cached(tmp_path):
    from sparsesnn.data.dvs import CIFAR10_DVS_CLASSES, load_cifar10_dvs

    for cls in CIFAR10_DVS_CLASSES:
        (tmp_path / cls).mkdir()
        (tmp_path / cls / "a.aedat").write_bytes(aedat2([(1, 2, 1, 5)]))
        (tmp_path / cls / "b.aedat").write_bytes(aedat2([(3, 4, 0, 9)]))
    cache = tmp_path / "cache"
    first = load_cifar10_dvs(tmp_path, T=2, cache_dir=cache)
    assert len(list(cache.iterdir())) == 1
    again = load_cifar10_dvs(tmp_path, T=2, cache_dir=cache)
    assert (first[0].x == again[0].x).all() and again[0].events
    (tmp_path / "ship" / "b.aedat").write_bytes(aedat2([(9, 9, 1, 1), (9, 9, 1, 2)]))  # changed source → new entry
    load_cifar10_dvs(tmp_path, T=2, cache_dir=cache)
    assert len(list(cache.iterdir())) == 2


def test_cifar10_dvs_class_archives_and_dvs_gesture_tarball(tmp_path, monkeypatch):
    import hashlib
    import io
    import shutil
    import tarfile
    import zipfile

    from sparsesnn.data import archives, dvs
    from sparsesnn.errors import ChecksumError

    table = []
    for i, cls in enumerate(dvs.CIFAR10_DVS_CLASSES):  # the published zips hold <class>/<recording>.aedat
        path = tmp_path / f"{cls}.zip"
        with zipfile.ZipFile(path, "w") as z:
            for k in range(2):
                z.writestr(f"{cls}/cifar10_{cls}_{k}.aedat", aedat2([(i, k, 1, 10), (3, 4, 0, 20 + k)]))
        table.append(archives.Archive(path.name, (), hashlib.md5(path.read_bytes()).hexdigest(), cls))
    monkeypatch.setattr(dvs, "CIFAR10_DVS", tuple(table))
    train, test = load_dataset("cifar10_dvs", tmp_path, T=2)
    assert len(train) + len(test) == 20 and sorted(set((train.y.tolist() + test.y.tolist()))) == list(range(10))
    (tmp_path / "truck.zip").write_bytes(b"tampered")
    shutil.rmtree(tmp_path / "truck")
    with pytest.raises(ChecksumError, match="truck.zip"):
        load_dataset("cifar10_dvs", tmp_path, T=2)

    # DVS128 Gesture: IBM offers no direct link — a clear message, and a tarball put there by hand is unpacked
    g = tmp_path / "gesture"
    with pytest.raises(DatasetNotFoundError, match="no direct download"):
        load_dataset("dvs_gesture", g, T=4, download=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in (("DvsGesture/user01_led.aedat", aedat31([(1, 2, 1, 10, 1), (3, 4, 0, 500_000, 1)])),
                           ("DvsGesture/user01_led_labels.csv", b"class,startTime_usec,endTime_usec\n3,0,1000000\n"),
                           ("DvsGesture/trials_to_train.txt", b"user01_led.aedat\n"),
                           ("DvsGesture/trials_to_test.txt", b"user01_led.aedat\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    g.mkdir()
    (g / "DvsGesture.tar.gz").write_bytes(buf.getvalue())
    monkeypatch.setattr(dvs, "DVS_GESTURE", (archives.Archive("DvsGesture.tar.gz", (), hashlib.md5(buf.getvalue()).hexdigest(), "DvsGesture"),))
    train, test = load_dataset("dvs_gesture", g, T=4)
    assert train.y.tolist() == [2] and test.x.shape == (1, 4, 2, 32, 32)
