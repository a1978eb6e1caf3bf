"""The musicnn backbone network (M. Won's PyTorch port of J. Pons' musicnn, dense layers left out),
with its module and buffer names as in the public checkpoints. ``embedders/musicnn.py`` is the
embedder around it (chunking, weights, batching)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .musicnn_layout import BACKEND, F_MAX, F_MIN, HOP, N_FFT, N_MELS, SAMPLE_RATE, TOP_DB


# -- the network (module and buffer names follow the checkpoints) -----------------------------
class _Spectrogram(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(N_FFT))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec = torch.stft(x, N_FFT, HOP, N_FFT, self.window, center=True, pad_mode="reflect",
                          normalized=False, onesided=True, return_complex=True)
        return spec.abs().pow(2.0)


class _MelScale(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        import librosa

        # the checkpoints carry their own filter bank (torchaudio's); this one only seeds a fresh model
        fb = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=F_MIN, fmax=F_MAX,
                                 htk=True, norm=None, dtype=np.float32)
        self.register_buffer("fb", torch.from_numpy(np.ascontiguousarray(fb.T)))

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        return torch.matmul(spec.transpose(-1, -2), self.fb).transpose(-1, -2)


class _MelSpectrogram(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.spectrogram = _Spectrogram()
        self.mel_scale = _MelScale()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mel_scale(self.spectrogram(x))


def amplitude_to_db(power: torch.Tensor, top_db: float = TOP_DB) -> torch.Tensor:
    """torchaudio ``AmplitudeToDB('power', top_db)`` applied to each (mels, time) chunk on its own."""
    db = 10.0 * torch.log10(torch.clamp(power, min=1e-10))
    floor = db.amax(dim=(-2, -1), keepdim=True) - top_db
    return torch.max(db, floor)


class _ConvV(nn.Module):  # vertical (timbral) filter, max over the remaining frequency axis
    def __init__(self, out: int, shape: tuple[int, int]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, out, shape, padding=(0, shape[1] // 2))
        self.bn = nn.BatchNorm2d(out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            x = F.relu(self.bn(self.conv(x)))
            return F.max_pool2d(x, (x.size(2), 1), stride=(x.size(2), 1)).squeeze(2)
        # Inference: BatchNorm (frozen) and ReLU are monotonic per channel, so the maximum over
        # frequency can be taken first, on the conv output, and they then run on 1/30-1/60 of the
        # values. A channel whose BatchNorm scale is negative needs the minimum instead: its conv
        # runs with negated weights (exactly the negated output) and its maximum is negated back.
        sign = torch.where(self.bn.weight >= 0, 1.0, -1.0).to(x.dtype)
        conv = F.conv2d(x, self.conv.weight * sign.view(-1, 1, 1, 1), self.conv.bias * sign,
                        padding=self.conv.padding)
        extreme = conv.amax(dim=2, keepdim=True) * sign.view(1, -1, 1, 1)
        return F.relu(self.bn(extreme)).squeeze(2)


class _ConvH(nn.Module):  # horizontal (temporal) filter on the frequency-averaged spectrogram
    def __init__(self, out: int, length: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, out, length, padding=length // 2)
        self.bn = nn.BatchNorm1d(out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(x, (x.size(2), 1), stride=(x.size(2), 1)).squeeze(2)
        return F.relu(self.bn(self.conv(x)))


class _Conv1d(nn.Module):  # back-end layer (MaxPool1d(1) of the original is the identity)
    def __init__(self, inp: int, out: int, shape: int = 7) -> None:
        super().__init__()
        self.conv = nn.Conv1d(inp, out, shape, stride=1, padding=shape // 2)
        self.bn = nn.BatchNorm1d(out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class MusicnnBackbone(nn.Module):
    """(n_chunks, 48000) waveforms → (n_chunks, 1506). Built in the original's order, so that a
    seeded initialisation equals MuLaP's ``Musicnn(dataset=None)`` under the same seed."""

    def __init__(self, backend: int = BACKEND) -> None:
        super().__init__()
        self.spec = _MelSpectrogram()
        self.spec_bn = nn.BatchNorm2d(1)
        self.layers = nn.ModuleList([
            _ConvV(204, (int(0.7 * 96), 7)), _ConvV(204, (int(0.4 * 96), 7)),
            _ConvH(51, 129), _ConvH(51, 65), _ConvH(51, 33),
        ])
        self.layer1 = _Conv1d(561, backend)
        self.layer2 = _Conv1d(backend, backend)
        self.layer3 = _Conv1d(backend, backend)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.spec_bn(amplitude_to_db(self.spec(x)).unsqueeze(1))
        out = torch.cat([layer(x) for layer in self.layers], dim=1)
        res1 = self.layer1(out)
        res2 = self.layer2(res1) + res1
        res3 = self.layer3(res2) + res2
        out = torch.cat([out, res1, res2, res3], 1)
        steps = out.size(-1)
        return torch.cat([F.max_pool1d(out, steps), F.avg_pool1d(out, steps)], dim=1).squeeze(-1)


def flush_subnormals(model: nn.Module) -> None:
    """Zero the subnormal floats of a checkpoint (the Jamendo one has ~70k, e.g. 8e-45 in the
    front-end filters): CPUs compute with them 20-50x slower, and next to normal float32 values
    they change no output bit that the golden tolerance can see."""
    tiny = torch.finfo(torch.float32).tiny
    with torch.no_grad():
        for tensor in list(model.parameters()) + list(model.buffers()):
            if tensor.is_floating_point():
                tensor.masked_fill_(tensor.abs() < tiny, 0.0)
