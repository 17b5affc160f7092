"""Network architectures."""

from .config import ARCHS, ModelConfig
from .net import SpikingNet

__all__ = ["ARCHS", "ModelConfig", "SpikingNet"]
