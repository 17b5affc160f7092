"""Export a trained feed-forward :class:`SpikingNet` to NIR (Neuromorphic Intermediate Representation).

Mapping (dt = one time step):
- linear layers → ``Affine``; a sparse layer's weight is exported dense with exact zeros at
  absent links, and its link list (``rows``, ``cols``) and ``nnz`` ride in the node metadata;
- convolutions → ``Conv2d``; average pooling → ``AvgPool2d``; flattening → ``Flatten``;
- LIF (001 eq. 1, v ← α·v + I with hard reset to 0) → NIR ``LIF`` with τ·dv/dt = (v_leak − v) + R·I:
  forward Euler with dt = 1 gives α = 1 − 1/τ and unit input gain for R = τ, so τ = 1/(1 − α),
  R = τ, v_leak = 0, v_reset = 0.
The readout (time-averaged output current, or output spike rate) and the encoding are recorded in
graph metadata.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch import nn

from ..layers.sparse_linear import SparseLinear
from ..models.net import SpikingNet


def to_nir(model: SpikingNet):
    import nir

    cfg = model.config
    if cfg.alpha >= 1.0:
        raise ValueError("NIR LIF needs a leak (alpha < 1); an IF neuron (alpha = 1) has no finite tau")
    tau = 1.0 / (1.0 - cfg.alpha)
    nodes = {"input": nir.Input(input_type={"input": np.array(model.input_shape)})}
    edges: list[tuple[str, str]] = []
    prev = "input"
    shape = model.input_shape
    population = 0

    def add(name: str, node) -> None:
        nonlocal prev
        nodes[name] = node
        edges.append((prev, name))
        prev = name

    for step, (kind, index) in enumerate(model.plan):
        if kind == "syn":
            if step > 0:  # LIF in front of every synaptic layer but the first
                n = int(np.prod(shape))
                add(f"lif{population}", nir.LIF(
                    tau=np.full(shape, tau), r=np.full(shape, tau), v_leak=np.zeros(shape),
                    v_threshold=np.full(shape, cfg.threshold), v_reset=np.zeros(shape),
                    metadata={"neurons": n, "surrogate": cfg.surrogate},
                ))
                population += 1
            layer = model.synapses[index]
            bias = layer.bias.detach().cpu().numpy() if layer.bias is not None else None
            if isinstance(layer, nn.Conv2d):
                out_h = shape[1] + 2 * layer.padding[0] - layer.kernel_size[0] + 1
                out_w = shape[2] + 2 * layer.padding[1] - layer.kernel_size[1] + 1
                add(f"conv{index}", nir.Conv2d(
                    input_shape=(shape[1], shape[2]), weight=layer.weight.detach().cpu().numpy(), stride=1,
                    padding=layer.padding, dilation=1, groups=1,
                    bias=bias if bias is not None else np.zeros(layer.out_channels, dtype=np.float32),
                ))
                shape = (layer.out_channels, out_h, out_w)
            else:
                sparse = isinstance(layer, SparseLinear)
                weight = (layer.dense_weight() if sparse else layer.weight.detach()).cpu().numpy()
                meta = {"sparse": sparse}
                if sparse:
                    bias = layer.effective_bias().detach().cpu().numpy() if layer.bias is not None else None
                    meta.update(nnz=layer.nnz, rows=layer.rows.cpu().numpy(), cols=layer.cols.cpu().numpy(),
                                sparsity=1.0 - layer.density)
                if bias is None:
                    add(f"linear{index}", nir.Linear(weight=weight, metadata=meta))
                else:
                    add(f"affine{index}", nir.Affine(weight=weight, bias=bias, metadata=meta))
                shape = (weight.shape[0],)
        elif kind == "pool":
            pool_kind, size = model.pools[index]
            if pool_kind != "AP":
                raise NotImplementedError("NIR has no max pooling node; use average pooling (AP) to export")
            add(f"avgpool{index}", nir.AvgPool2d(kernel_size=np.array([size, size]), stride=np.array([size, size]),
                                                 padding=np.array([0, 0])))
            shape = (shape[0], shape[1] // size, shape[2] // size)
        else:
            add(f"flatten{step}", nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1))
            shape = (int(np.prod(shape)),)
    if cfg.readout == "spikes":
        add(f"lif{population}", nir.LIF(tau=np.full(shape, tau), r=np.full(shape, tau), v_leak=np.zeros(shape),
                                        v_threshold=np.full(shape, cfg.threshold), v_reset=np.zeros(shape)))
    nodes["output"] = nir.Output(output_type={"output": np.array(shape)})
    edges.append((prev, "output"))
    meta = {
        "producer": "sparsesnn", "dt": 1.0, "time_steps": cfg.T, "encoding": cfg.encoding,
        "readout": f"mean over time steps of the output {cfg.readout}", "lif_reset": "hard, to 0",
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def export_nir(model: SpikingNet, path: str | Path) -> Path:
    import nir

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nir.write(path, to_nir(model))
    return path
