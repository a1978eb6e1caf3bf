"""The COALA-family audio encoder network (xavierfav/coala, xavierfav/ae-w2v-attention), with the
authors' attribute names and Sequential indices so their checkpoints load strictly.
``embedders/coala.py`` is the embedder around it (variants, weights, front-end); it imports this
module only when it loads a model, so building or listing the embedders imports no torch."""
from __future__ import annotations

import torch
from torch import nn

Z_DIM = 128 * 3 * 3  # 128 channels on the 3×3 grid left of a 96×96 patch (= embedders.coala.Z_DIM)


def conv_stack(layer_norm: bool) -> nn.Sequential:
    """The authors' Sequential, index for index (the indices are the checkpoint's key names)."""
    layers: list[nn.Module] = []
    for i in range(5):  # 96 → 48 → 24 → 12 → 6 → 3
        layers += [nn.Conv2d(1 if i == 0 else 128, 128, 4, stride=2, padding=1), nn.BatchNorm2d(128), nn.ReLU(), nn.Dropout(0.25)]
    layers.append(nn.Flatten())
    if layer_norm:
        layers.append(nn.LayerNorm(Z_DIM, eps=1e-6))
    return nn.Sequential(*layers)


class CoalaAudioEncoder(nn.Module):
    """Maps (n, 1, 96, 96) scaled log-mel patches to z (n, 1152)."""

    def __init__(self, layout: str = "coala", projection: int = Z_DIM) -> None:
        super().__init__()
        self.layout = layout
        if layout == "cnn":
            self.encoder = conv_stack(layer_norm=False)
            self.fc = nn.Sequential(nn.Linear(Z_DIM, Z_DIM), nn.ReLU(), nn.Linear(Z_DIM, 1000), nn.Sigmoid())
        else:
            self.audio_encoder = conv_stack(layer_norm=layout == "w2v")
            self.fc_audio = nn.Sequential(nn.Linear(Z_DIM, projection, bias=False), nn.Dropout(0.25))

    #: layers to return side by side (0-3: conv blocks 1-4, average-pooled to block 5's 3×3 grid,
    #: 128 × 9 = 1152 each; 4: z); None: z alone, through the authors' Sequential unchanged
    layers: "list[int] | None" = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        trunk = self.encoder if self.layout == "cnn" else self.audio_encoder
        if self.layers is None:
            return trunk(x)
        out: dict[int, torch.Tensor] = {}
        for i in range(5):
            x = trunk[4 * i:4 * i + 4](x)
            if i < 4 and i in self.layers:
                out[i] = nn.functional.adaptive_avg_pool2d(x, 3).flatten(1)
        out[4] = trunk[20:](x)  # Flatten (and LayerNorm): z
        return torch.cat([out[i] for i in self.layers], dim=1)
