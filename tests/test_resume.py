import json
import signal
import subprocess
import sys
import time

import torch

TIMING = {"seconds", "epoch_seconds", "topology_seconds", "train_seconds"}
EPOCHS = 12  # enough that a fast host cannot finish between the poll and the kill
ARGS = ["--dataset", "digits", "--epochs", str(EPOCHS), "--sparsity", "0.8", "--seed", "3", "--batch-size", "32",
        "--set", "model.hidden=[256]", "--set", "model.encoding=poisson", "--no-progress"]


def _cli(*args):
    return [sys.executable, "-m", "sparsesnn", "train", *args]


def _strip(record):
    return {k: v for k, v in record.items() if k not in TIMING}


def test_sigkill_mid_epoch_then_resume_is_bit_identical(tmp_path):
    ref, run = tmp_path / "ref", tmp_path / "killed"
    subprocess.run(_cli(*ARGS, "--out", str(ref)), check=True, capture_output=True)

    proc = subprocess.Popen(_cli(*ARGS, "--out", str(run)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics = run / "metrics.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and (not metrics.exists() or len(metrics.read_text().splitlines()) < 2):
        time.sleep(0.005)
    # half of epoch 2's own duration: mid-epoch 3 on any host (a fixed sleep overshot the whole
    # run on a host whose epochs take 0.08 s)
    time.sleep(0.5 * json.loads(metrics.read_text().splitlines()[1])["epoch_seconds"])
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "training finished before it could be killed"
    assert not (run / "summary.json").exists()
    assert len(metrics.read_text().splitlines()) < EPOCHS, "every epoch had finished before the kill"

    subprocess.run(_cli("--resume", str(run), "--epochs", str(EPOCHS), "--no-progress"), check=True, capture_output=True)

    a = json.loads((ref / "summary.json").read_text())
    b = json.loads((run / "summary.json").read_text())
    assert _strip(a) == _strip(b)
    la = [_strip(json.loads(l)) for l in (ref / "metrics.jsonl").read_text().splitlines()]
    lb = [_strip(json.loads(l)) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert la == lb and len(la) == EPOCHS
    sa = torch.load(ref / "checkpoint.pt", weights_only=False)["model"]
    sb = torch.load(run / "checkpoint.pt", weights_only=False)["model"]
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_resume_rejects_fewer_epochs_than_done(tmp_path, capsys):
    from sparsesnn.cli.main import main

    out = tmp_path / "r"
    assert main(["train", "--dataset", "digits", "--epochs", "2", "--set", "model.hidden=[32]", "--out", str(out), "--no-progress"]) == 0
    assert main(["train", "--resume", str(out), "--epochs", "1", "--no-progress"]) == 2
    assert "below the 2 epochs" in capsys.readouterr().err


def test_corrupt_checkpoint_gives_clear_error_and_previous_is_kept(tmp_path, capsys):
    from sparsesnn.cli.main import main

    out = tmp_path / "r"
    assert main(["train", "--dataset", "digits", "--epochs", "3", "--set", "model.hidden=[32]", "--out", str(out), "--no-progress"]) == 0
    ckpt = out / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:100])
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--epochs", "4", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "checkpoint.pt is corrupt" in err and "checkpoint-prev.pt" in err
    assert torch.load(out / "checkpoint-prev.pt", weights_only=False)["epoch"] == 2


def test_resume_to_a_larger_total_equals_uninterrupted_run_with_horizon_free_schedules(tmp_path):
    from sparsesnn.cli.main import main

    args = ["--dataset", "digits", "--sparsity", "0.8", "--seed", "2", "--set", "model.hidden=[48]",
            "--set", "train.lr_schedule=constant", "--set", "topology.zeta_schedule=constant", "--no-progress"]
    assert main(["train", *args, "--epochs", "4", "--out", str(tmp_path / "full")]) == 0
    assert main(["train", *args, "--epochs", "2", "--out", str(tmp_path / "part")]) == 0
    assert main(["train", "--resume", str(tmp_path / "part"), "--epochs", "4", "--no-progress"]) == 0
    a = json.loads((tmp_path / "full" / "summary.json").read_text())
    b = json.loads((tmp_path / "part" / "summary.json").read_text())
    assert _strip(a) == _strip(b)
    sa = torch.load(tmp_path / "full" / "checkpoint.pt", weights_only=False)["model"]
    sb = torch.load(tmp_path / "part" / "checkpoint.pt", weights_only=False)["model"]
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
