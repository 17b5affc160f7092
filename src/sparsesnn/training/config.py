"""Typed run configuration, loadable from YAML or TOML and overridable field by field."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..data import DATASETS
from ..errors import ConfigError
from ..models.config import ModelConfig
from ..topology.config import TopologyConfig


@dataclass
class DataConfig:
    dataset: str = "digits"
    data_dir: str | None = None
    download: bool = False
    val_fraction: float = 0.0
    batch_size: int = 100
    train_limit: int | None = None  # train on a fixed random subset of this many samples
    downsample: int | None = None  # event data: max-pool frames over k×k pixels (None: the loader's default)


@dataclass
class TrainConfig:
    epochs: int = 20
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    lr_schedule: str = "cosine"
    seed: int = 0
    dense: bool = False
    device: str = "cpu"
    sscti_samples: int = 10000
    checkpoint: bool = True
    method: str = "bptt"  # "bptt": surrogate-gradient BPTT; "stp": sparse target propagation (001 §4.2)
    stp_window: int = 4


OPTIMIZERS = ("adam", "adamw", "sgd")
LR_SCHEDULES = ("cosine", "constant")


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    topology: TopologyConfig = field(default_factory=TopologyConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    # ----- construction --------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "RunConfig":
        if not isinstance(raw, dict):
            raise ConfigError(f"a config must be a mapping of sections; got {type(raw).__name__}")
        sections = {f.name: f.type for f in dataclasses.fields(cls)}
        unknown = set(raw) - set(sections)
        if unknown:
            raise ConfigError(f"unknown config section(s) {sorted(map(str, unknown))}; allowed: {sorted(sections)}")
        cfg = cls()
        for name, values in raw.items():
            if values is None:
                continue
            if not isinstance(values, dict):
                raise ConfigError(f"config section {name!r} must be a mapping")
            for key, value in values.items():
                cfg.set(f"{name}.{key}", value)
        return cfg

    @classmethod
    def from_file(cls, path: str | Path) -> "RunConfig":
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"config file {path} does not exist")
        try:
            text = path.read_text()
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not a text file ({exc})") from exc
        return cls.from_text(text, toml=path.suffix == ".toml", source=str(path))

    @classmethod
    def from_text(cls, text: str, toml: bool = False, source: str = "<config>") -> "RunConfig":
        """Parse YAML (or TOML) text and validate every field; errors name the source and field."""
        try:
            raw = tomllib.loads(text) if toml else yaml.safe_load(text)
        except (tomllib.TOMLDecodeError, yaml.YAMLError, ValueError) as exc:
            raise ConfigError(f"{source}: cannot parse ({exc})") from exc
        try:
            return cls.from_dict(raw or {}).validate()
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    def set(self, dotted: str, value: Any) -> None:
        """Set ``section.field`` with type coercion; unknown names raise :class:`ConfigError`."""
        section_name, _, key = dotted.partition(".")
        section = getattr(self, section_name, None)
        if section is None or not dataclasses.is_dataclass(section):
            raise ConfigError(f"unknown config section {section_name!r} in {dotted!r}")
        fields = {f.name: f for f in dataclasses.fields(section)}
        if key not in fields:
            raise ConfigError(f"unknown field {dotted!r}; {section_name} has {sorted(fields)}")
        setattr(section, key, _coerce(dotted, value, getattr(section, key), fields[key].type))

    def validate(self) -> "RunConfig":
        d, t = self.data, self.train
        _check(d.dataset in DATASETS, "data.dataset", f"one of {list(DATASETS)}", d.dataset)
        _check(0.0 <= d.val_fraction < 1.0, "data.val_fraction", "in [0, 1)", d.val_fraction)
        _check(d.batch_size >= 1, "data.batch_size", ">= 1", d.batch_size)
        _check(d.train_limit is None or d.train_limit >= 1, "data.train_limit", ">= 1 or null", d.train_limit)
        _check(d.downsample is None or d.downsample >= 1, "data.downsample", ">= 1 or null", d.downsample)
        _check(t.epochs >= 1, "train.epochs", ">= 1", t.epochs)
        _check(t.lr > 0, "train.lr", "> 0", t.lr)
        _check(t.optimizer in OPTIMIZERS, "train.optimizer", f"one of {list(OPTIMIZERS)}", t.optimizer)
        _check(t.lr_schedule in LR_SCHEDULES, "train.lr_schedule", f"one of {list(LR_SCHEDULES)}", t.lr_schedule)
        _check(t.device in ("cpu", "cuda", "auto"), "train.device", "cpu, cuda or auto", t.device)
        _check(t.sscti_samples >= 2, "train.sscti_samples", ">= 2", t.sscti_samples)
        _check(t.method in ("bptt", "stp"), "train.method", "bptt or stp", t.method)
        if t.method == "stp":
            _check(self.model.readout == "spikes", "model.readout", "spikes under train.method=stp", self.model.readout)
            _check(1 <= t.stp_window <= self.model.T, "train.stp_window", f"in [1, model.T={self.model.T}]", t.stp_window)
        try:
            self.model.validate()
            self.topology.validate()
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _check(ok: bool, name: str, allowed: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"{name} must be {allowed}; got {value!r}")


def _coerce(name: str, value: Any, current: Any, annotation: Any) -> Any:
    """Convert CLI strings and YAML scalars to the field's type."""
    ann = str(annotation)
    if isinstance(value, str):
        if value.lower() in ("none", "null") and "None" in ann:
            return None
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            parsed = value
        value = parsed if not ann.startswith("str") else value
    if value is None:
        if "None" in ann:
            return None
        raise ConfigError(f"{name} may not be null")
    if ann.startswith("list"):
        if isinstance(value, (int, float)):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name} must be a list; got {value!r}")
        try:
            return [int(v) for v in value]
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"{name} must be a list of integers; got {value!r}") from None
    base = ann.split("|")[0].strip()
    try:
        if base == "bool":
            if not isinstance(value, bool):
                raise TypeError
            return value
        if base == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise TypeError
            return int(value)
        if base == "float":
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if base == "str":
            return str(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{name} must be of type {ann}; got {value!r}") from None
    return value
