import json
import subprocess
import sys

import pytest
import torch

from sparsesnn.cli.main import main
from sparsesnn.errors import ConfigError, TrainingDiverged
from sparsesnn.training import RunConfig, train

SUMMARY_KEYS = {"test_accuracy", "link_sparsity", "node_sparsity", "sops_per_sample",
                "energy_mj_per_sample", "firing_rate", "epochs", "seconds"}


def _small(**over):
    cfg = RunConfig()
    cfg.set("model.hidden", [64])
    cfg.set("model.T", 4)
    cfg.set("train.epochs", 2)
    cfg.set("topology.sparsity", 0.9)
    cfg.set("data.batch_size", 32)
    for k, v in over.items():
        cfg.set(k, v)
    return cfg


def test_train_contract_and_evaluate(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--dataset", "digits", "--epochs", "3", "--sparsity", "0.8", "--seed", "1",
                 "--set", "model.hidden=[128]", "--batch-size", "32", "--lr", "0.003", "--out", str(out), "--no-progress"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary)
    assert summary["epochs"] == 3 and abs(summary["link_sparsity"] - 0.8) < 1e-3
    assert summary["test_accuracy"] > 0.5  # 3 epochs on digits: far above chance (0.1)
    for f in ("config.yaml", "versions.json", "metrics.jsonl", "checkpoint.pt"):
        assert (out / f).exists()
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 3 and all("topology" in json.loads(l) for l in lines)
    capsys.readouterr()
    assert main(["evaluate", str(out)]) == 0
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert evaluation["test_accuracy"] == pytest.approx(summary["test_accuracy"])
    assert evaluation["sops_per_sample"] == pytest.approx(summary["sops_per_sample"])


def test_same_seed_same_result(tmp_path):
    a = train(_small(), tmp_path / "a", progress=False)
    b = train(_small(), tmp_path / "b", progress=False)
    for k in ("test_accuracy", "sops_per_sample", "node_sparsity"):
        assert a[k] == b[k]


def test_dense_twin_has_no_sparsity(tmp_path):
    s = train(_small(**{"train.dense": True}), tmp_path / "d", progress=False)
    assert s["link_sparsity"] == 0.0 and s["node_sparsity"] == 0.0


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_trainer_optimizer_is_foreach_and_bit_identical_to_the_per_tensor_loop(name):
    import inspect

    from sparsesnn.training.trainer import build

    exp = build(_small(**{"train.optimizer": name, "train.weight_decay": 1e-3}))
    opt = exp.optimizer
    assert opt.defaults["foreach"] is True
    params = [p for g in opt.param_groups for p in g["params"]]
    twins = [torch.nn.Parameter(p.detach().clone()) for p in params]
    accepted = inspect.signature(type(opt)).parameters  # AdamW keeps a default it does not take
    ref = type(opt)(twins, **{k: v for k, v in opt.defaults.items() if k in accepted and k != "foreach"}, foreach=False)
    gen = torch.Generator().manual_seed(0)
    for step in range(5):
        for p, q in zip(params, twins):
            p.grad = torch.randn(p.shape, generator=gen) * 10.0 ** (step - 2)
            q.grad = p.grad.clone()
        opt.step()
        ref.step()
    for p, q in zip(params, twins):
        assert torch.equal(p, q)


@pytest.mark.parametrize("suffix,text", [
    (".yaml", "train:\n  epochs: 1\nmodel:\n  hidden: [32]\n  T: 2\ntopology:\n  sparsity: 0.7\n  regrowth: ch2_l3n\n"),
    (".toml", "[train]\nepochs = 1\n[model]\nhidden = [32]\nT = 2\n[topology]\nsparsity = 0.7\nregrowth = 'ch2_l3n'\n"),
])
def test_config_files_and_flag_override(tmp_path, suffix, text):
    path = tmp_path / ("c" + suffix)
    path.write_text(text)
    out = tmp_path / "r"
    assert main(["train", "--config", str(path), "--sparsity", "0.8", "--out", str(out), "--no-progress"]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert abs(s["link_sparsity"] - 0.8) < 1e-3 and s["epochs"] == 1


@pytest.mark.parametrize("args,message", [
    (["--sparsity", "1.0"], "sparsity"),
    (["--sparsity", "-0.2"], "sparsity"),
    (["--set", "topology.regrowth=magic"], "topology.regrowth"),
    (["--set", "model.widths=3"], "model.widths"),
    (["--dataset", "mnist", "--data-dir", "/nonexistent"], "train-images-idx3-ubyte.gz"),
])
def test_bad_input_gets_a_clear_error(tmp_path, capsys, args, message):
    code = main(["train", "--out", str(tmp_path / "x"), "--no-progress", "--epochs", "1", *args])
    assert code == 2
    assert message in capsys.readouterr().err


def test_unknown_config_field_in_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochz: 3\n")
    with pytest.raises(ConfigError, match="train.epochz"):
        RunConfig.from_file(path)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    from sparsesnn.models import SpikingNet

    out = tmp_path / "nan"
    cfg = _small(**{"train.epochs": 3})
    real_forward = SpikingNet.forward
    calls = {"n": 0}
    n_batches = 45  # 1437 digits training samples / batch 32

    def poisoned(self, x, recorder=None, spike_noise=None):
        logits = real_forward(self, x, recorder, spike_noise)
        if self.training:
            calls["n"] += 1
            if calls["n"] == n_batches + 3:  # during the second epoch
                return logits * float("nan")
        return logits

    monkeypatch.setattr(SpikingNet, "forward", poisoned)
    with pytest.raises(TrainingDiverged, match="epoch 2"):
        train(cfg, out, progress=False)
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    assert state["epoch"] == 1
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 1
    assert not (out / "summary.json").exists()


def test_module_entry_point_runs(tmp_path):
    r = subprocess.run([sys.executable, "-m", "sparsesnn", "train", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--sparsity" in r.stdout
