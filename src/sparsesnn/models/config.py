"""Typed model configuration and the architectures of 001 A.5."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..conversion.activations import ACTIVATIONS
from ..neurons import encoders
from ..neurons.surrogate import SURROGATES
from ..topology.weight_init import WEIGHT_INITS

# Architectures of 001 A.5 as layer specs: "<c>C<k>" conv, "AP<k>"/"MP<k>" pooling, "<n>" linear
_TOKEN = re.compile(r"\d+C\d+|[AM]P\d+|R\d+|\d+")
ARCHS = {
    "2conv2fc": "15C3-AP2-40C3-AP2-300",
    "6conv2fc": "128C3-128C3-MP2-256C3-256C3-MP2-512C3-512",
    # VGG-16, CIFAR variant (13 convolutions, 512-wide classifier; 002/003), average pooling so it
    # converts exactly; no BatchNorm layers (none to fold into the sparse kernels)
    "vgg16": "64C3-64C3-AP2-128C3-128C3-AP2-256C3-256C3-256C3-AP2-512C3-512C3-512C3-AP2-512C3-512C3-512C3-AP2-512-512",
    # ResNet-18, CIFAR variant, for ANN conversion: 8 basic blocks "R<c>" (two 3×3 convolutions and
    # an identity or 1×1 shortcut); stages downsample by average pooling, not stride 2, so every
    # convolution is stride 1 and its SOPs are counted per receptive field
    "resnet18": "64C3-R64-R64-AP2-R128-R128-AP2-R256-R256-AP2-R512-R512-AP4",
}


@dataclass
class ModelConfig:
    """Architecture and neuron settings.

    Attributes:
        arch: ``mlp`` (hidden widths from ``hidden``), ``spikformer`` (``embed_dim``, ``heads``,
            ``depth``, ``mlp_ratio``), ``vit`` (an ANN for conversion: the same fields plus
            ``patch_size``), a name in :data:`ARCHS` or a layer spec such as
            ``"15C3-AP2-40C3-AP2-300"``.
        hidden: widths of the hidden LIF layers of ``mlp`` (e.g. ``[1568]`` for 784-1568-10).
        T: simulation time steps.
        encoding: ``direct`` (analog input, first-layer current computed once and reused at every
            step), ``poisson`` or ``latency``. Inputs already shaped ``[T, B, N]`` are used as is.
        alpha, threshold, surrogate, surrogate_alpha, detach_reset: LIF settings (001 eq. 1).
        weight_init: ``sswi`` (001 eq. 3), ``swi`` or ``kaiming``.
        bias: learn biases.
        kind: ``snn`` (spiking network trained directly) or ``ann`` (a sparse ANN trained for
            ANN→SNN conversion, 002/003; ``T``, ``encoding`` and the LIF fields are unused).
        activation, levels, qcfs_lambda: the ANN's activation (``qcfs``, ``csqcfs`` or ``relu``),
            its quantisation levels L and initial threshold λ (4 or 8 avoids the negative λ
            that QCFS shows from λ = 1).
    """

    arch: str = "mlp"
    hidden: list[int] = field(default_factory=lambda: [1568])
    embed_dim: int = 64
    heads: int = 4
    depth: int = 1
    mlp_ratio: int = 4
    patch_size: int = 4
    T: int = 8
    encoding: str = "direct"
    alpha: float = 0.5
    threshold: float = 1.0
    surrogate: str = "arctan"
    surrogate_alpha: float | None = None
    detach_reset: bool = False
    weight_init: str = "sswi"
    bias: bool = True
    readout: str = "current"  # "current": time-averaged output current; "spikes": output LIF spike rate
    kind: str = "snn"
    activation: str = "qcfs"
    levels: int = 8
    qcfs_lambda: float = 4.0

    def spec(self) -> list[str]:
        """Hidden layers as spec tokens."""
        if self.arch == "mlp":
            return [str(int(h)) for h in self.hidden]
        return ARCHS.get(self.arch, self.arch).split("-")

    def validate(self) -> "ModelConfig":
        transformer = self.arch in ("spikformer", "vit")
        if transformer:
            step = 2 * self.heads if self.arch == "spikformer" else self.heads  # Spikformer's patch splitting halves D
            if self.embed_dim % step or min(self.embed_dim, self.heads, self.depth, self.mlp_ratio, self.patch_size) < 1:
                raise ValueError(f"model.embed_dim ({self.embed_dim}) must be a positive multiple of {step} (model.heads = {self.heads}); "
                                 "depth, mlp_ratio and patch_size must be positive")
        if self.arch == "vit" and self.kind != "ann":
            raise ValueError("model.arch vit is an ANN for conversion: set model.kind ann (sparsesnn train --ann)")
        for token in ([] if transformer else self.spec()):
            if not _TOKEN.fullmatch(token):
                raise ValueError(f"model.arch: bad layer {token!r} in {self.arch!r}; use <c>C<k>, AP<k>, MP<k>, R<c> or <n>, or one of {['mlp', *ARCHS]}")
        if not self.hidden or any(int(h) < 1 for h in self.hidden):
            raise ValueError(f"model.hidden must be a non-empty list of positive widths; got {self.hidden}")
        if self.kind not in ("snn", "ann"):
            raise ValueError(f"model.kind must be snn or ann; got {self.kind!r}")
        if self.kind == "ann":
            if self.arch == "spikformer":
                raise ValueError("model.kind ann supports layer-spec architectures (mlp, conv specs) and vit, not spikformer")
            if self.activation not in ACTIVATIONS:
                raise ValueError(f"model.activation must be one of {list(ACTIVATIONS)}; got {self.activation!r}")
            if self.weight_init == "sswi":
                raise ValueError("model.weight_init sswi is for spiking networks; use kaiming or swi for an ANN")
            if int(self.levels) < 1 or not self.qcfs_lambda > 0:
                raise ValueError(f"model.levels must be >= 1 and model.qcfs_lambda > 0; got {self.levels}, {self.qcfs_lambda}")
        if int(self.T) < 1:
            raise ValueError(f"model.T must be >= 1; got {self.T}")
        if self.encoding not in encoders.ENCODERS:
            raise ValueError(f"model.encoding must be one of {list(encoders.ENCODERS)}; got {self.encoding!r}")
        if self.surrogate not in SURROGATES:
            raise ValueError(f"model.surrogate must be one of {sorted(SURROGATES)}; got {self.surrogate!r}")
        if self.readout not in ("current", "spikes"):
            raise ValueError(f"model.readout must be current or spikes; got {self.readout!r}")
        if self.weight_init not in WEIGHT_INITS:
            raise ValueError(f"model.weight_init must be one of {list(WEIGHT_INITS)}; got {self.weight_init!r}")
        if not 0.0 < self.alpha <= 1.0:
            raise ValueError(f"model.alpha must be in (0, 1]; got {self.alpha}")
        if not self.threshold > 0.0:
            raise ValueError(f"model.threshold must be > 0; got {self.threshold}")
        return self
