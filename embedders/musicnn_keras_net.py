"""The original musicnn network (J. Pons) in PyTorch, without its dense layers, and the state dict
it takes from the Keras HDF5 layers. ``embedders/musicnn_keras.py`` is the embedder around it (it
imports this module only when it loads a model, so building or listing it imports no torch)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-3
TIMBRAL = ((204, 38), (204, 67))  # (filters, frequency extent); 7 frames each
TEMPORAL = (128, 64, 32)  # 51 filters each, one frequency bin wide


class PonsBackbone(nn.Module):
    """(n, 187, 96) log-mel patches → (n, 1506)."""

    def __init__(self) -> None:
        super().__init__()
        self.bn_input = nn.BatchNorm2d(1, eps=EPS)
        self.timbral = nn.ModuleList([nn.Conv2d(1, n, (7, f)) for n, f in TIMBRAL])
        self.timbral_bn = nn.ModuleList([nn.BatchNorm2d(n, eps=EPS) for n, _ in TIMBRAL])
        self.temporal = nn.ModuleList([nn.Conv2d(1, 51, (k, 1)) for k in TEMPORAL])
        self.temporal_bn = nn.ModuleList([nn.BatchNorm2d(51, eps=EPS) for _ in TEMPORAL])
        self.midend = nn.ModuleList([nn.Conv1d(561 if i == 0 else 64, 64, 7, padding=3) for i in range(3)])
        self.midend_bn = nn.ModuleList([nn.BatchNorm1d(64, eps=EPS) for _ in range(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn_input(x.unsqueeze(1))  # (n, 1, time, freq)
        padded = F.pad(x, (0, 0, 3, 3))
        feats = [bn(F.relu(conv(padded))).amax(dim=3) for conv, bn in zip(self.timbral, self.timbral_bn)]
        for k, conv, bn in zip(TEMPORAL, self.temporal, self.temporal_bn):
            same = F.pad(x, (0, 0, (k - 1) // 2, k - 1 - (k - 1) // 2))  # TF "same": the extra row at the end
            feats.append(bn(F.relu(conv(same))).amax(dim=3))
        front = torch.cat(feats, dim=1)  # (n, 561, time)
        cnn1 = self.midend_bn[0](F.relu(self.midend[0](front)))
        res2 = self.midend_bn[1](F.relu(self.midend[1](cnn1))) + cnn1
        res3 = self.midend_bn[2](F.relu(self.midend[2](res2))) + res2
        out = torch.cat([front, cnn1, res2, res3], dim=1)  # (n, 753, time)
        return torch.cat([out.amax(dim=-1), out.mean(dim=-1)], dim=1)


def keras_state_dict(weights: dict[str, dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    """PyTorch state dict of :class:`PonsBackbone` from the Keras layers (the dense head is ignored)."""
    state: dict[str, torch.Tensor] = {}

    def bn(target: str, layer: str) -> None:
        w = weights[layer]
        for ours, theirs in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"), ("running_var", "moving_variance")):
            state[f"{target}.{ours}"] = torch.from_numpy(w[theirs].astype(np.float32))
        state[f"{target}.num_batches_tracked"] = torch.tensor(0)

    def conv(target: str, layer: str, one_d: bool = False) -> None:
        kernel = weights[layer]["kernel"]  # (kh, kw, in, out)
        tensor = kernel[:, :, 0, :].transpose(2, 1, 0) if one_d else kernel.transpose(3, 2, 0, 1)
        state[f"{target}.weight"] = torch.from_numpy(np.ascontiguousarray(tensor, dtype=np.float32))
        state[f"{target}.bias"] = torch.from_numpy(weights[layer]["bias"].astype(np.float32))

    bn("bn_input", "batch_normalization")
    # the Keras graph: conv2d (7x38) and conv2d_1 (7x67) timbral; conv2d_2..4 temporal 128, 64, 32
    for i in range(2):
        conv(f"timbral.{i}", "conv2d" if i == 0 else f"conv2d_{i}")
        bn(f"timbral_bn.{i}", f"batch_normalization_{i + 1}")
    for i in range(3):
        conv(f"temporal.{i}", f"conv2d_{i + 2}")
        bn(f"temporal_bn.{i}", f"batch_normalization_{i + 3}")
    for i in range(3):
        conv(f"midend.{i}", f"midend_conv{i + 1}", one_d=True)
        bn(f"midend_bn.{i}", f"bn_midend_conv{i + 1}")
    return state
