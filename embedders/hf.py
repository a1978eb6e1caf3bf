"""``hf:<model id or local folder>``: any Hugging Face ``transformers`` audio model, every layer.

The feature extractor (or processor) of the model prepares the audio, decoded at its sampling
rate; ``AutoModel`` runs it (for Whisper its encoder, for CLAP its audio tower) with
``output_hidden_states=True``. Every hidden state is kept (layer 0 = the input to the first
transformer block, layer N = the last block's output); ``bench run --layer/--layers`` chooses among
them at probe time, so one extraction serves every layer.

**Frames.** One per model step: wav2vec2-style models 20 ms; the Whisper encoder 20 ms (its
output cropped to the clip's own frames, its input padded to the model's 30 s); AST one per
patch column (the mean over its frequency patches, CLS/distillation tokens left out, columns that
cover only padding cropped); CLAP one per window (the mean of each Swin stage's tokens: HTSAT's
stages do not keep a time axis of equal length).

**Windows (part of the cache key).** A clip longer than the model's input is cut into consecutive
windows whose frames are concatenated: AST ``max_length`` × 10 ms (10.24 s), Whisper
``chunk_length`` (30 s), CLAP ``max_length_s`` (10 s), wav2vec2-style models 30 s (``--option
window=SECONDS``; they have no hard limit, the window bounds memory). For the wav2vec2 family a last
window shorter than 1 s joins the one before it; for the others it is padded as the extractor
pads (zeros; CLAP repeats the clip). A clip shorter than the convolutional receptive field (AST:
one 25 ms filterbank frame) is zero-padded to it.

**Storage.** Frames are averaged over consecutive ``pool`` seconds (default 1 s; ``--option pool=0``
keeps every model step) before they are cached, every layer side by side: 1 s pooling costs
``4 × (sum of the layer widths)`` bytes per second of audio (wav2vec2-base: 13 × 768 → 144 MB per
hour, 11 MB per hour per layer). ``--option layers=0,6,12`` stores fewer layers.

**Batching never changes the numbers.** Extractor attention masks are always requested (otherwise
wav2vec2's normalisation counts the padding) and passed. Models whose outputs depend on padding
even with a mask (group-norm feature encoders: wav2vec2-base, HuBERT, data2vec-audio; anything not
known) get batches of equal-length windows only; layer-norm wav2vec2 and WavLM take padded batches
with their mask; AST, Whisper and CLAP inputs have a fixed shape per window anyway. CLAP's
extractor is called with ``truncation="rand_trunc"`` on windows no longer than its input, so its
random choices (``fusion``'s ``is_longer``) never happen.

Options: ``revision`` (a hub branch, tag or commit), ``layers``, ``pool``, ``window``,
``trust_remote_code=true`` (runs code from the model repository: never on by default).
"""
from __future__ import annotations

import json
import math
from typing import Any, Sequence

import numpy as np

from benchmark.core.errors import BenchError, WeightsError

from .base import Embedder, flag_option, number_option
from .hf_source import needs_remote_code, require_transformers, resolve

_WAVE_PAD_OK = {"wav2vec2", "wavlm", "hubert", "unispeech", "unispeech-sat"}  # with feat_extract_norm="layer"
_OPTIONS = {
    "revision": "a branch, tag or commit of the hub model",
    "layers": "hidden states to store (all|A-B|A,B,C; default all)",
    "pool": "seconds averaged into one frame (default 1; 0 keeps every model step)",
    "window": "seconds per window for long clips (default: the model's maximum input)",
    "trust_remote_code": "run the model repository's own code (true|false; default false)",
}


class HFEmbedder(Embedder):
    """Hugging Face transformers audio model (hf:<id or folder>): hidden states of every layer."""

    version = "1"
    batch_size = 8
    accepted_options = _OPTIONS

    def __init__(self, spec: str, weights: str | None = None, device: str | None = None, **options: Any) -> None:
        super().__init__(weights, device, **options)
        if weights:
            raise BenchError("hf: models take no --weights; pass the folder itself: -e hf:/path/to/model.")
        require_transformers()
        self.spec = spec
        self.source = resolve(spec, options.get("revision"))
        self.trust_remote_code = flag_option(options, "trust_remote_code")
        if needs_remote_code(self.source.folder) and not self.trust_remote_code:
            raise BenchError(
                f"hf:{spec} runs code from its model repository (its config.json has an auto_map; MERT models do). "
                f"Read that code, then, if you trust it, add --option trust_remote_code=true. bench never "
                "enables it by itself.")
        self._read_configs()
        self.pool = number_option(options, "pool", 1.0, unit="seconds")
        self.layer_count = len(self._widths)
        self.layer_ids = self._parse_stored_layers(options.get("layers"))
        self.layer_dims = [self._widths[i] for i in self.layer_ids]
        self.dim = sum(self.layer_dims)

    # -- configuration (no model weights loaded) ---------------------------------------------
    def _read_configs(self) -> None:
        from transformers import AutoConfig, AutoFeatureExtractor

        folder = self.source.folder
        try:
            self.hf_config = AutoConfig.from_pretrained(folder, trust_remote_code=self.trust_remote_code)
            self.extractor = AutoFeatureExtractor.from_pretrained(folder, trust_remote_code=self.trust_remote_code)
        except (OSError, ValueError, KeyError) as exc:
            raise WeightsError(f"hf:{self.spec}: cannot read the model's config or feature extractor in {folder}: "
                               f"{exc}. The folder needs config.json and preprocessor_config.json.") from None
        self.extractor_config = json.loads(self.extractor.to_json_string())
        self.sample_rate = int(self.extractor.sampling_rate)
        c, kind = self.hf_config, self.hf_config.model_type
        if kind == "clap" or kind == "clap_audio_model":
            a = c.audio_config if kind == "clap" else c
            p, n = a.patch_embeds_hidden_size, len(a.depths)
            self.family = "clap"
            self._widths = [p] + [p * 2 ** min(i + 1, n - 1) for i in range(n)]
            self.window_s = float(self.extractor.max_length_s)
        elif kind == "whisper":
            self.family, self._widths = "whisper", [c.d_model] * (c.encoder_layers + 1)
            self.window_s = float(self.extractor.chunk_length)
        elif kind == "audio-spectrogram-transformer":
            self.family, self._widths = "ast", [c.hidden_size] * (c.num_hidden_layers + 1)
            self.window_s = self.extractor.max_length * 0.01  # kaldi fbank frames: 10 ms shift
        else:
            if not hasattr(c, "num_hidden_layers") or not hasattr(c, "hidden_size"):
                raise BenchError(f"hf:{self.spec}: model type '{kind}' is not an audio encoder bench knows "
                                 "(wav2vec2, HuBERT, WavLM, data2vec-audio, AST, Whisper, CLAP, MERT-style).")
            self.family, self._widths = "wave", [c.hidden_size] * (c.num_hidden_layers + 1)
            shortest = self.receptive_field() / self.sample_rate  # a window must hold one frame
            self.window_s = number_option(self.options, "window", 30.0, minimum=max(shortest, 1e-3), unit="seconds")
        if "window" in self.options and self.family != "wave":
            raise BenchError(f"hf:{self.spec} is a {kind} model: its windows are its fixed input "
                             f"({self.window_s:g} s), so --option window={self.options['window']} would change "
                             "nothing. Drop it (window applies to wav2vec2-style models only).")
        self.pad_ok = (self.family in ("ast", "whisper", "clap")
                       or (kind in _WAVE_PAD_OK and getattr(c, "feat_extract_norm", "group") == "layer"))

    def _parse_stored_layers(self, value: Any) -> list[int]:
        from benchmark.embed.layers import stored_layers

        return stored_layers(value, len(self._widths))

    @property
    def n_layers(self) -> int:
        return len(self.layer_ids)

    def config(self) -> dict[str, Any]:
        # a folder's path is not content: folders are named by their files' sha256 in "source";
        # a model id names itself (so `bench cache prune --embedder hf:<id>` finds its caches)
        model_id = self.source.identity.get("model_id")
        return {**super().config(), "name": f"hf:{model_id}" if model_id else "hf:<folder>", "source": self.source.identity, "family": self.family,
                "layers": self.layer_ids, "layer_dims": self.layer_dims,
                "windows": {"seconds": self.window_s, "rule": "consecutive; wave: last < 1 s joins previous"},
                "pool_s": self.pool, "extractor": self.extractor_config,
                "transformers": __import__("transformers").__version__}

    def describe(self) -> str:
        return f"Hugging Face {self.hf_config.model_type}: {len(self._widths)} hidden states"

    # -- model -----------------------------------------------------------------------------
    def load(self) -> None:
        import torch
        from transformers import AutoModel

        model = AutoModel.from_pretrained(self.source.folder, trust_remote_code=self.trust_remote_code)
        if self.family == "whisper":
            model = model.get_encoder()
        elif self.family == "clap" and hasattr(model, "audio_model"):
            model = model.audio_model
        self.model = model.to(torch.device(self.device)).eval()
        self._min_samples = self.receptive_field()

    def receptive_field(self) -> int:
        """Samples the shortest input needs: a wave model's convolutional receptive field, AST's one
        25 ms filterbank frame (Kaldi's fbank has no frame in less)."""
        if self.family == "ast":
            return int(0.025 * self.sample_rate)
        if self.family != "wave" or not hasattr(self.hf_config, "conv_kernel"):
            return 1
        rf, jump = 1, 1
        for k, s in zip(self.hf_config.conv_kernel, self.hf_config.conv_stride):
            rf, jump = rf + (k - 1) * jump, jump * s
        return rf

    # -- the work --------------------------------------------------------------------------
    def windows(self, n: int) -> list[tuple[int, int]]:
        """(start, stop) sample ranges of a clip of ``n`` samples (the rule in the module docstring)."""
        size = max(1, int(round(self.window_s * self.sample_rate)))
        bounds = [(s, min(s + size, n)) for s in range(0, max(n, 1), size)]
        if self.family == "wave" and len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < self.sample_rate:
            bounds[-2:] = [(bounds[-2][0], n)]
        return bounds

    def embed(self, batch: Sequence[np.ndarray]) -> list[np.ndarray]:
        import torch

        pieces: list[tuple[int, int, np.ndarray]] = []  # (clip, window start, samples)
        for i, wave in enumerate(batch):
            wave = np.asarray(wave, dtype=np.float32)
            if len(wave) < self._min_samples:
                wave = np.pad(wave, (0, self._min_samples - len(wave)))
            pieces += [(i, start, wave[start:stop]) for start, stop in self.windows(len(wave))]
        order = sorted(range(len(pieces)), key=lambda j: len(pieces[j][2]))
        groups: list[list[int]] = []
        for j in order:  # sorted by length: equal lengths together, little padding otherwise
            last = groups[-1] if groups else None
            if last is None or len(last) >= self.batch_size or (
                    not self.pad_ok and len(pieces[last[0]][2]) != len(pieces[j][2])):
                groups.append([j])
            else:
                last.append(j)
        outputs: dict[int, np.ndarray] = {}
        with torch.inference_mode():
            for group in groups:
                for j, frames in zip(group, self._forward([pieces[j][2] for j in group])):
                    outputs[j] = frames
        result = []
        for i in range(len(batch)):
            mine = [j for j in range(len(pieces)) if pieces[j][0] == i]
            result.append(self._pool([pieces[j][1] for j in mine], [len(pieces[j][2]) for j in mine],
                                     [outputs[j] for j in mine]))
        return result

    def _forward(self, waves: list[np.ndarray]) -> list[np.ndarray]:
        """Frames (n_steps, sum of stored layer widths) of each window of one batch."""
        import torch

        device = torch.device(self.device)
        fe, sr = self.extractor, self.sample_rate
        if self.family == "clap":
            inputs = fe(waves, sampling_rate=sr, return_tensors="pt", truncation="rand_trunc", padding="repeatpad")
            out = self.model(input_features=inputs["input_features"].to(device),
                             is_longer=inputs["is_longer"].to(device), output_hidden_states=True)
            states = [h.mean(dim=(2, 3))[:, None, :] for h in out.hidden_states]
            lengths = [1] * len(waves)
        else:
            # Whisper's encoder takes only full-length (30 s) inputs: pad every window to them
            padding = "max_length" if self.family == "whisper" else True
            inputs = fe(waves, sampling_rate=sr, return_tensors="pt", padding=padding, return_attention_mask=True)
            mask = inputs.get("attention_mask")
            if self.family == "whisper":
                out = self.model(inputs["input_features"].to(device), attention_mask=None if mask is None else mask.to(device),
                                 output_hidden_states=True)
                states = list(out.hidden_states)
                hop = fe.hop_length * 2  # the encoder's stride-2 convolution
                lengths = [min(states[0].shape[1], max(1, math.ceil(len(w) / hop))) for w in waves]
            elif self.family == "ast":
                out = self.model(inputs["input_values"].to(device), output_hidden_states=True)
                c = self.hf_config
                n_freq = (c.num_mel_bins - c.patch_size) // c.frequency_stride + 1
                n_time = (c.max_length - c.patch_size) // c.time_stride + 1
                states = [h[:, 2:, :].reshape(h.shape[0], n_freq, n_time, h.shape[-1]).mean(dim=1)
                          for h in out.hidden_states]
                shift, win = int(0.01 * sr), int(0.025 * sr)
                mel_frames = [max(1, 1 + (len(w) - win) // shift) for w in waves]
                lengths = [min(n_time, max(1, math.ceil(m / c.time_stride))) for m in mel_frames]
            else:
                values = inputs["input_values"].to(device)
                mask = mask.to(device) if mask is not None else torch.ones(values.shape, dtype=torch.long, device=device)
                out = self.model(values, attention_mask=mask, output_hidden_states=True)
                states = list(out.hidden_states)
                lengths = self.model._get_feat_extract_output_lengths(mask.sum(-1)).tolist()
        chosen = torch.cat([states[i] for i in self.layer_ids], dim=-1).float().cpu().numpy()
        return [chosen[k, :int(lengths[k])] for k in range(len(waves))]

    def _pool(self, starts: list[int], sizes: list[int], frames: list[np.ndarray]) -> np.ndarray:
        """The clip's window frames, concatenated and averaged over ``pool``-second bins (frame
        times: each window's frames spread evenly over its samples)."""
        if self.pool <= 0:
            return np.concatenate(frames)
        rows, bins = [], []
        for start, size, f in zip(starts, sizes, frames):
            centres = start + (np.arange(len(f)) + 0.5) * size / len(f)
            rows.append(f)
            bins.append(np.floor(centres / (self.pool * self.sample_rate)).astype(np.int64))
        f, b = np.concatenate(rows), np.concatenate(bins)
        uniq, inverse = np.unique(b, return_inverse=True)
        sums = np.zeros((len(uniq), f.shape[1]), dtype=np.float64)
        np.add.at(sums, inverse, f)
        return (sums / np.bincount(inverse)[:, None]).astype(np.float32)
