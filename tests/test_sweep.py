import csv

import pytest
import yaml

from sparsesnn.errors import ConfigError
from sparsesnn.training.sweep import SweepConfig, run_sweep


def _write(tmp_path, **over):
    spec = {
        "study": "t",
        "out": str(tmp_path / "sweep"),
        "objective": "val_accuracy",
        "overrides": {"data.val_fraction": 0.2, "train.epochs": 1, "model.hidden": [32], "model.T": 2},
        "grid": {"train.lr": [0.001, 0.003], "data.batch_size": [32, 64], "topology.sparsity": [0.8, 0.9]},
    }
    spec.update(over)
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_grid_of_eight_with_two_workers_writes_one_table(tmp_path):
    table = run_sweep(SweepConfig.from_file(_write(tmp_path)), workers=2)
    rows = list(csv.DictReader(table.open()))
    combos = {(r["train.lr"], r["data.batch_size"], r["topology.sparsity"]) for r in rows}
    assert len(combos) == 8 and len(rows) >= 8
    assert all(0.0 <= float(r["val_accuracy"]) <= 1.0 for r in rows)
    assert table.with_suffix(".md").read_text().count("\n") >= 10


@pytest.mark.parametrize("over,message", [
    ({"objective": "test_accuracy"}, "test data"),
    ({"grid": {"train.lr": []}}, "non-empty"),
    ({"grid": {"train.nope": [1]}}, "train.nope"),
    ({"overrides": {"data.val_fraction": 0.0}}, "val_fraction"),
    ({"bogus": 1}, "bogus"),
])
def test_bad_sweep_files(tmp_path, over, message):
    with pytest.raises(ConfigError, match=message):
        SweepConfig.from_file(_write(tmp_path, **over))
