"""Training: typed configs, the CH-SNN loop, run directories and metrics."""

from .config import DataConfig, RunConfig, TrainConfig
from .trainer import build, final_report, load_run, train

__all__ = ["RunConfig", "DataConfig", "TrainConfig", "build", "train", "load_run", "final_report"]
