"""Plugin mistakes give one paragraph that says what to do, not bench's own stack; finished clips
stay in the cache."""

import pytest

from tests.helpers import invoke, write_csv_dataset

FORGOT_EMBED = '''
import numpy as np
from embedders.base import Embedder

class Forgot(Embedder):
    sample_rate = 8000
    dim = 2

    def embed_clip(self, x):
        return np.zeros((1, 2), np.float32)
'''

FLAKY = '''
import os
import numpy as np
from embedders.base import Embedder

CALLS = []

class Flaky(Embedder):
    """Fails on the batch number in $FLAKY_FAIL_AT (none when unset); load fails with $FLAKY_LOAD."""
    name = "flaky"
    sample_rate = 8000
    dim = 2
    batch_size = 2

    def load(self):
        if os.environ.get("FLAKY_LOAD"):
            raise FileNotFoundError("weights.bin is not in /nowhere")

    def embed(self, batch):
        CALLS.append(len(batch))
        if len(CALLS) == int(os.environ.get("FLAKY_FAIL_AT", "0")):
            raise ValueError("boom in the plugin")
        return [np.stack([np.abs(x).mean(keepdims=True), x.std(keepdims=True)], axis=1).astype("float32") for x in batch]
'''


def test_class_without_embed_is_refused_when_created(tmp_path):
    plugin = tmp_path / "forgot.py"
    plugin.write_text(FORGOT_EMBED)
    csv = write_csv_dataset(tmp_path / "data", n_per_class=2)
    code, out = invoke("run", "-e", f"{plugin}:Forgot", "-t", f"csv:{csv}", "--seeds", 1)
    assert code == 2, out
    assert "Traceback" not in out and "NotImplementedError" not in out
    assert "'Forgot'" in out and str(plugin) in out and "embed(self, batch)" in out
    assert "embed_clip()" in out and "embedders/base.py" in out
    assert "Embeddings:" not in out  # refused before anything was decoded


@pytest.fixture
def flaky(tmp_path, monkeypatch):
    plugin = tmp_path / "flaky_plugin.py"
    plugin.write_text(FLAKY)
    csv = write_csv_dataset(tmp_path / "data", n_per_class=4)  # 8 clips, 4 batches of 2
    monkeypatch.delenv("FLAKY_FAIL_AT", raising=False)
    monkeypatch.delenv("FLAKY_LOAD", raising=False)
    return f"{plugin}:Flaky", csv, tmp_path / "data" / "audio"


def _calls():
    import sys

    module = next(m for m in list(sys.modules.values())
                  if str(getattr(m, "__file__", "")).endswith("flaky_plugin.py") and hasattr(m, "CALLS"))
    return module.CALLS


def test_exception_in_embed_names_embedder_clip_and_message_and_keeps_finished_clips(flaky, monkeypatch):
    spec, csv, audio = flaky
    monkeypatch.setenv("FLAKY_FAIL_AT", "3")
    code, out = invoke("run", "-e", spec, "-t", f"csv:{csv}", "--seeds", 1)
    assert code == 2, out
    assert "Traceback" not in out
    assert "Embedder 'flaky' failed in embed()" in out and "ValueError: boom in the plugin" in out
    assert str(audio) in out and "--debug" in out  # the clip files of the failing batch
    _calls().clear()
    monkeypatch.delenv("FLAKY_FAIL_AT")  # the plugin fixed
    code, out = invoke("run", "-e", spec, "-t", f"csv:{csv}", "--seeds", 1)
    assert code == 0, out
    assert "4 cached, 4 extracted" in out and _calls() == [2, 2]  # only the rest


def test_debug_shows_the_plugins_traceback(flaky, monkeypatch):
    spec, csv, _ = flaky
    monkeypatch.setenv("FLAKY_FAIL_AT", "1")
    code, out = invoke("--debug", "run", "-e", spec, "-t", f"csv:{csv}", "--seeds", 1)
    assert code == 2
    assert "Traceback" in out and 'raise ValueError("boom in the plugin")' in out
    assert "Embedder 'flaky' failed in embed()" in out


def test_exception_in_load_names_the_embedder(flaky, monkeypatch):
    spec, csv, _ = flaky
    monkeypatch.setenv("FLAKY_LOAD", "1")
    code, out = invoke("run", "-e", spec, "-t", f"csv:{csv}", "--seeds", 1)
    assert code == 2 and "Traceback" not in out
    assert "Embedder 'flaky' failed in load(): FileNotFoundError: weights.bin is not in /nowhere" in out
