"""The HEAR 2021 API adapter, on tiny deterministic fake HEAR modules written into tmp_path."""
from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
import torch

from benchmark.core.errors import EmbedderOutputError, UnknownNameError, WeightsError
from embedders import EMBEDDERS
from embedders.hear import HearEmbedder

FAKE = '''
import torch

__version__ = "0.3"
WIN, HOP = 400, 160


class Model(torch.nn.Module):
    sample_rate = 16000
    scene_embedding_size = 6
    timestamp_embedding_size = 6

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(WIN, 6)
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            self.proj.weight.copy_(torch.randn(6, WIN, generator=generator))
            self.proj.bias.zero_()


def load_model(model_file_path=""):
    model = Model()
    if model_file_path:
        model.load_state_dict(torch.load(model_file_path))
    return model


def get_timestamp_embeddings(audio, model):
    assert audio.ndim == 2 and audio.dtype == torch.float32
    if audio.shape[1] < WIN:
        audio = torch.nn.functional.pad(audio, (0, WIN - audio.shape[1]))
    frames = audio.unfold(1, WIN, HOP)  # (n, T, WIN)
    emb = model.proj(frames)
    stamps = torch.arange(frames.shape[1]) * HOP / model.sample_rate * 1000
    return emb, stamps.expand(audio.shape[0], -1)
'''

SCENE = '''

def get_scene_embeddings(audio, model):
    return get_timestamp_embeddings(audio, model)[0].mean(dim=1)
'''


@pytest.fixture
def make_module(tmp_path, monkeypatch):
    """Write a fake HEAR module under a unique name and put it on sys.path."""
    made = []

    def make(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        made.append(name)
        return name

    monkeypatch.syspath_prepend(str(tmp_path))
    yield make
    for name in made:
        sys.modules.pop(name, None)


def _reference(audio: np.ndarray) -> np.ndarray:
    """The fake model's timestamp embeddings, computed independently with numpy."""
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(6, 400, generator=generator).numpy().astype(np.float64)
    audio = np.pad(audio, (0, max(0, 400 - len(audio))))
    frames = np.lib.stride_tricks.sliding_window_view(audio, 400)[::160]
    return frames @ weight.T


def test_timestamp_frames(make_module):
    name = make_module("fakehear_both", FAKE + SCENE)
    embedder = EMBEDDERS.create(f"hear:{name}", device="cpu")
    assert isinstance(embedder, HearEmbedder) and embedder.name == f"hear:{name}"
    assert embedder.sample_rate == 16000 and embedder.dim == 6 and embedder.frames == "timestamp"
    rng = np.random.RandomState(1)
    clips = [rng.randn(n).astype(np.float32) for n in (16000, 1600, 16000, 100)]
    out = embedder.embed(clips)  # two equal lengths share one call; order is kept
    assert [o.shape for o in out] == [(98, 6), (8, 6), (98, 6), (1, 6)]
    for clip, got in zip(clips, out):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, _reference(clip), rtol=1e-4, atol=1e-4)
    again = embedder.embed(clips)
    assert all(np.array_equal(a, b) for a, b in zip(out, again))
    config = embedder.config()
    assert config["module"] == name and config["module_version"] == "0.3" and config["frames"] == "timestamp"
    assert config["sample_rate"] == 16000 and config["dim"] == 6


def test_scene_only_module_gives_one_frame(make_module):
    source = FAKE.replace("def get_timestamp_embeddings", "def _timestamps").replace(
        "get_timestamp_embeddings(audio, model)", "_timestamps(audio, model)"
    )
    name = make_module("fakehear_scene", source + SCENE.replace("get_timestamp_embeddings", "_timestamps"))
    embedder = EMBEDDERS.create(f"hear:{name}", device="cpu")
    assert embedder.frames == "scene"
    clip = np.linspace(-1, 1, 3200, dtype=np.float32)
    (got,) = embedder.embed([clip])
    assert got.shape == (1, 6)
    np.testing.assert_allclose(got[0], _reference(clip).mean(axis=0), rtol=1e-4, atol=1e-4)


def test_frames_scene_option(make_module):
    name = make_module("fakehear_opt", FAKE + SCENE)
    embedder = HearEmbedder(module=name, frames="scene", device="cpu")
    assert embedder.embed([np.zeros(1000, np.float32)])[0].shape == (1, 6)


def test_model_file_path_and_hash(make_module, tmp_path):
    name = make_module("fakehear_weights", FAKE + SCENE)
    module = __import__(name)
    model = module.load_model()
    with torch.no_grad():
        model.proj.bias.fill_(1.0)
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    embedder = EMBEDDERS.create(f"hear:{name}", weights=str(path), device="cpu")
    clip = np.zeros(800, np.float32)
    np.testing.assert_allclose(embedder.embed([clip])[0], np.ones((3, 6)))
    assert len(embedder.config()["weights_sha256"]) == 64
    with pytest.raises(WeightsError, match="does not exist"):
        EMBEDDERS.create(f"hear:{name}", weights=str(tmp_path / "nope.pt")).embed([clip])


def test_not_installed_or_not_hear(make_module):
    with pytest.raises(UnknownNameError, match="not installed"):
        EMBEDDERS.create("hear:no_such_hear_module_xyz")
    name = make_module("fakehear_bad", "def load_model(model_file_path=''):\n    return None\n")
    with pytest.raises(UnknownNameError, match="HEAR 2021 API"):
        EMBEDDERS.create(f"hear:{name}")


def test_bad_output_shape_is_reported(make_module):
    name = make_module("fakehear_flat", FAKE + "\n\ndef get_scene_embeddings(audio, model):\n    return audio[:, :6]\n")
    bad = FAKE.replace("return emb, stamps", "return emb[0], stamps")
    flat = make_module("fakehear_flat2", bad)
    with pytest.raises(EmbedderOutputError, match=r"\(n, T, D\)"):
        EMBEDDERS.create(f"hear:{flat}", device="cpu").embed([np.zeros(800, np.float32)] * 2)
    ok = EMBEDDERS.create(f"hear:{name}", frames="scene", device="cpu").embed([np.arange(10, dtype=np.float32)])
    assert ok[0].shape == (1, 6)
