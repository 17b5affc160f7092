"""Network architectures."""

from .config import ARCHS, ModelConfig
from .net import SpikingNet
from .spikformer import Spikformer


def build_model(input_shape: tuple[int, ...], n_classes: int, config: ModelConfig, sparsity: float | None):
    """The network named by ``config.arch`` (Spikformer, or a layer-spec :class:`SpikingNet`)."""
    cls = Spikformer if config.arch == "spikformer" else SpikingNet
    return cls(input_shape, n_classes, config, sparsity)


__all__ = ["ARCHS", "ModelConfig", "SpikingNet", "Spikformer", "build_model"]
