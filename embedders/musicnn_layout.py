"""musicnn's sizes and the layout of its 1506 columns, without torch: the embedders
(``musicnn.py``, ``musicnn_keras.py``) read them when built or listed, and the network
(``musicnn_net.py``) is imported only when a model is loaded."""
from __future__ import annotations

SAMPLE_RATE = 16000
CHUNK = 3 * SAMPLE_RATE
N_FFT = 512
HOP = 256
N_MELS = 96
F_MIN, F_MAX = 0.0, 8000.0
TOP_DB = 80.0
BACKEND = 64  # MuLaP builds Musicnn(dataset=None): the 64-channel back-end (512 only for "msd")
DIM = 2 * (561 + 3 * BACKEND)
FRONT = 561  # 2 timbral × 204 + 3 temporal × 51


def layer_columns(backend: int = BACKEND) -> list[list[int]]:
    """The columns of each layer in the 1506 (= max then mean over time of [front-end, mid-end 1,
    2, 3]): layer 0 the front-end (its 561 max and 561 mean columns), layers 1-3 the mid-end
    blocks (64 + 64). The same layout in M. Won's port and in Pons' Keras model."""
    widths = [FRONT] + [backend] * 3
    half = sum(widths)
    starts = [sum(widths[:i]) for i in range(4)]
    return [list(range(a, a + w)) + list(range(half + a, half + a + w)) for a, w in zip(starts, widths)]
