import json

import numpy as np
import pytest

from benchmark.data.audio import load_audio
from embedders.mfcc import MFCC


def fixture_clips(shared):
    manifest = json.loads((shared / "golden" / "MANIFEST.json").read_text())
    return {name: shared / clip["source_path"] for name, clip in manifest["clips"].items()}


def test_mfcc_matches_the_authors_code(shared):
    golden = np.load(shared / "golden" / "mfcc.npz")
    embedder = MFCC(device="cpu")
    clips = fixture_clips(shared)
    assert len(clips) >= 5
    for name, path in clips.items():
        samples = load_audio(path, embedder.sample_rate, res_type=embedder.res_type)
        (frames,) = embedder.embed([samples])
        assert frames.shape == (1, 120) and frames.dtype == np.float32
        np.testing.assert_allclose(frames[0], golden[f"{name}.embedding"], rtol=1e-4, atol=1e-4 * np.abs(golden[f"{name}.embedding"]).max())


@pytest.mark.filterwarnings("ignore:n_fft=.*is too large")  # the point of the test: clips shorter than n_fft
def test_short_clips_still_give_a_vector():
    embedder = MFCC(device="cpu")
    (frames,) = embedder.embed([np.random.default_rng(0).standard_normal(600).astype(np.float32)])
    assert frames.shape == (1, 120) and np.all(np.isfinite(frames))
