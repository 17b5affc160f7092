"""Network architectures."""

from .ann import SparseANN
from .config import ARCHS, ModelConfig
from .net import SpikingNet
from .spikformer import Spikformer
from .vit import SparseViT


def build_model(
    input_shape: tuple[int, ...],
    n_classes: int,
    config: ModelConfig,
    sparsity: float | None,
    conv_sparsity: float | None = None,
):
    """The network named by ``config``: a :class:`SparseViT` or layer-spec :class:`SparseANN`
    (``kind: ann``), Spikformer, or a layer-spec :class:`SpikingNet`."""
    if config.arch == "vit":
        return SparseViT(input_shape, n_classes, config, sparsity)
    if config.kind == "ann":
        return SparseANN(input_shape, n_classes, config, sparsity, conv_sparsity)
    if config.arch == "spikformer":
        return Spikformer(input_shape, n_classes, config, sparsity)
    return SpikingNet(input_shape, n_classes, config, sparsity, conv_sparsity)


__all__ = ["ARCHS", "ModelConfig", "SparseANN", "SparseViT", "SpikingNet", "Spikformer", "build_model"]
