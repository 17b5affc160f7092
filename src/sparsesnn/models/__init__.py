"""Network architectures."""

from .mlp import ModelConfig, SpikingMLP

__all__ = ["ModelConfig", "SpikingMLP"]
