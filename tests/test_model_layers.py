"""Layers of the built-in multi-layer models: musicnn (front-end, mid-end blocks: columns of its 1506)
and COALA (conv blocks, stored only when asked), through the same --layer/--layers commands."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from benchmark.core.errors import BenchError
from benchmark.embed.layers import storing, view_for
from benchmark.core.spec import RunSpec
from embedders import EMBEDDERS
from embedders import frontends
from embedders.musicnn_layout import layer_columns
from embedders.musicnn_net import amplitude_to_db


def test_musicnn_layer_columns_are_its_blocks():
    columns = layer_columns()
    assert sorted(c for cols in columns for c in cols) == list(range(1506))
    embedder = EMBEDDERS.create("musicnn-random", device="cpu")
    wave = (0.1 * np.random.default_rng(0).standard_normal(16000 * 4)).astype(np.float32)
    out = embedder.embed([wave])[0]
    model = embedder.model
    with torch.no_grad():  # the blocks' outputs, computed here from the network's own modules
        x = model.spec_bn(amplitude_to_db(model.spec(torch.from_numpy(wave[:48000])[None])).unsqueeze(1))
        front = torch.cat([layer(x) for layer in model.layers], dim=1)
        res1 = model.layer1(front)
        res2 = model.layer2(res1) + res1
        res3 = model.layer3(res2) + res2
    for number, block in enumerate((front, res1, res2, res3)):
        want = torch.cat([block.amax(dim=-1), block.mean(dim=-1)], dim=1).numpy()
        view = view_for(embedder, number, False)
        np.testing.assert_allclose(view.apply(out), want, rtol=1e-5, atol=1e-5)
    assert view_for(embedder, None, False) is None  # default: the 1506, as before layers
    with pytest.raises(BenchError, match="one width"):
        view_for(embedder, None, True)


def test_musicnn_sweep_one_extraction_one_record_per_block(tmp_path):
    import cli
    from tests.helpers import write_csv_dataset

    csv = write_csv_dataset(tmp_path / "data", n_per_class=4)
    results = tmp_path / "results"
    common = ["-e", "musicnn-random", "-t", f"csv:{csv}", "--protocol", "linear", "--seeds", "2",
              "--results-dir", str(results)]
    out = CliRunner().invoke(cli.cli, ["run", *common, "--layers", "all"], catch_exceptions=False).output
    assert out.count("0 cached, 8 extracted") == 1 and out.count("8 cached, 0 extracted") == 3, out
    default = CliRunner().invoke(cli.cli, ["run", *common], catch_exceptions=False).output
    assert "8 cached, 0 extracted" in default  # the layers are columns of the default cache
    records = [json.loads(p.read_text()) for p in results.rglob("*.json")]
    got = sorted((r["embedder"]["name"], r["embedder"]["dim"]) for r in records)
    assert got == [("musicnn-random", 1506), ("musicnn-random@0", 1122), ("musicnn-random@1", 128),
                   ("musicnn-random@2", 128), ("musicnn-random@3", 128)], got
    assert "layer" not in next(r for r in records if r["embedder"]["name"] == "musicnn-random")["embedder"]


@pytest.fixture
def coala_weights(shared):
    path = shared / "golden" / "weights" / "coala_audio_encoder_seed0.pt"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return str(path)


def test_coala_layers_stored_on_request_z_unchanged(coala_weights, shared, monkeypatch):
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(shared / "weights"))  # the scaler
    waves = [(0.1 * np.random.default_rng(i).standard_normal(22000 * n)).astype(np.float32) for i, n in ((0, 5), (1, 12))]
    default = EMBEDDERS.create("coala", weights=coala_weights, device="cpu")
    every = EMBEDDERS.create("coala", weights=coala_weights, device="cpu", layers="all")
    assert "layers" not in default.config() and every.config()["layers"] == [0, 1, 2, 3, 4]
    assert view_for(default, None, False) is None and view_for(every, None, False).layer == 4
    z, stacked = default.embed(waves), every.embed(waves)
    for a, b in zip(z, stacked):
        assert a.shape[1] == 1152 and b.shape == (len(a), 5 * 1152)
        assert np.array_equal(b[:, 4 * 1152:], a)  # z is computed by the same modules, in the same order
    # block 1 (layer 0): 128 channels at 48x48, averaged over 16x16 cells to 3x3
    model = every.model
    patch = torch.from_numpy(frontends.patches(frontends.log_mel(waves[:1]), every.scaler)[0][:1, None])
    with torch.no_grad():
        block1 = model.audio_encoder[:4](patch)
    want = block1.reshape(1, 128, 3, 16, 3, 16).mean(dim=(3, 5)).reshape(1, -1).numpy()
    np.testing.assert_allclose(stacked[0][:1, :1152], want, rtol=1e-5, atol=1e-6)
    with pytest.raises(BenchError, match="--option layers=all"):
        view_for(default, 2, False)
    with pytest.raises(BenchError, match="learn nothing"):
        view_for(default, None, True)
    assert view_for(every, None, True).stacked == (5, 1152)


def test_sweep_asks_coala_for_its_layers(coala_weights):
    default = EMBEDDERS.create("coala", weights=coala_weights)
    spec = RunSpec("coala", "demo", weights=coala_weights)
    assert storing(spec, "all", default).embedder_options == {"layers": "all"}
    assert storing(spec, "4", default) is spec  # z is stored already
    explicit = spec.replace(options={"layers": "2"})
    assert storing(explicit, "all", EMBEDDERS.create("coala", weights=coala_weights, layers="2")) is explicit
    musicnn = EMBEDDERS.create("musicnn-random")
    assert storing(spec, "all", musicnn) is spec


def test_coala_sweep_records_each_block(coala_weights, shared, tmp_path, monkeypatch):
    import cli
    from tests.helpers import write_csv_dataset

    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(shared / "weights"))
    csv = write_csv_dataset(tmp_path / "data", n_per_class=4)
    results = tmp_path / "results"
    out = CliRunner().invoke(cli.cli, ["run", "-e", "coala", "-t", f"csv:{csv}", "--weights", coala_weights,
                                       "--protocol", "linear", "--seeds", "2", "--results-dir", str(results),
                                       "--layers", "0,4"], catch_exceptions=False).output
    assert out.count("0 cached, 8 extracted") == 1 and out.count("8 cached, 0 extracted") == 1, out
    records = [json.loads(p.read_text()) for p in results.rglob("*.json")]
    assert sorted((r["embedder"]["name"], r["embedder"]["dim"]) for r in records) == [("coala@0", 1152), ("coala@4", 1152)]
