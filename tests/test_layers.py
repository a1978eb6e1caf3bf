"""Layers: --layer/--layers parsing, one extraction for a sweep, one record per layer, the layer table and plot."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from benchmark.core.errors import BenchError
from benchmark.embed.layers import LayerView, parse_layers, split_name


def test_parse_layers():
    assert parse_layers("all", 4) == [0, 1, 2, 3]
    assert parse_layers("1-3", 13) == [1, 2, 3]
    assert parse_layers("0,6,12", 13) == [0, 6, 12]
    assert parse_layers("-1", 13) == [12] and parse_layers("-3--1", 13) == [10, 11, 12]
    assert parse_layers("2,2,1", 4) == [2, 1]
    for bad, message in (("13", "layers 0..12"), ("x", "not a number"), ("5-2", "backwards")):
        with pytest.raises(BenchError, match=message):
            parse_layers(bad, 13)


def test_view_picks_a_layers_columns_or_stacks_them():
    frames = np.arange(2 * 6, dtype=np.float32).reshape(2, 6)  # 3 layers of width 2
    assert LayerView(1, 2, 4).apply(frames).tolist() == [[2, 3], [8, 9]]
    stacked = LayerView(None, 0, 6, (3, 2)).apply(frames)
    assert stacked.shape == (2, 3, 2) and stacked[1, 2].tolist() == [10, 11]
    assert split_name("hf:org/m@12") == ("hf:org/m", 12) and split_name("mfcc") == ("mfcc", None)


def test_layer_on_an_embedder_without_layers_says_so(tmp_path):
    import cli
    from tests.helpers import write_csv_dataset

    csv = write_csv_dataset(tmp_path / "data", n_per_class=2)
    result = CliRunner().invoke(cli.cli, ["run", "-e", "mfcc", "-t", f"csv:{csv}", "--layer", "3"])
    assert result.exit_code == 2 and "exposes no layers" in result.output


@pytest.mark.hf
def test_sweep_extracts_once_and_records_each_layer(tmp_path, monkeypatch):
    pytest.importorskip("transformers", reason="the [hf] extra (transformers) is not installed")
    import cli
    from tests import hf_models
    from tests.helpers import write_csv_dataset

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = hf_models.build("wav2vec2-layer", tmp_path / "model")
    csv = write_csv_dataset(tmp_path / "data", n_per_class=4)
    results = tmp_path / "results"
    common = ["-e", f"hf:{folder}", "-t", f"csv:{csv}", "--protocol", "linear", "--seeds", "2",
              "--results-dir", str(results)]
    out = CliRunner().invoke(cli.cli, ["run", *common, "--layers", "all"], catch_exceptions=False).output
    assert out.count("0 cached, 8 extracted") == 1 and out.count("8 cached, 0 extracted") == 2, out
    assert "Layer sweep" in out and f"hf:{folder}@2" in out
    records = [json.loads(p.read_text()) for p in results.rglob("*.json")]
    assert sorted(r["embedder"]["name"] for r in records) == [f"hf:{folder}@{n}" for n in range(3)]
    assert {r["embedder"]["dim"] for r in records} == {16} and len({r["cache_key"] for r in records}) == 1
    assert sorted(r["embedder"]["layer"] for r in records) == [0, 1, 2]
    assert all(r["status"] == "complete" for r in records)

    again = CliRunner().invoke(cli.cli, ["run", *common, "--layer", "-2"], catch_exceptions=False).output
    assert "Already complete" in again and "@1 " in again  # -2 is the sweep's layer 1
    # another protocol is a new run (linear's --seeds 1 would be the same one: it records one seed)
    fewer = CliRunner().invoke(cli.cli, ["run", *common[:-6], "--protocol", "knn", "--results-dir", str(tmp_path / "knn"),
                                         "--layer", "1"], catch_exceptions=False).output
    assert "8 cached, 0 extracted" in fewer  # a new run of a stored layer extracts nothing

    table = CliRunner().invoke(cli.cli, ["table", "--layers", "--results-dir", str(results)]).output
    rows = [line for line in table.splitlines() if f"hf:{folder}@" in line]
    assert [row.split("|")[1].strip() for row in rows] == [f"hf:{folder}@{n}" for n in range(3)]
    figures = tmp_path / "figures"
    plot = CliRunner().invoke(cli.cli, ["plot", "--kind", "layers", "-o", str(figures), "--results-dir", str(results)])
    assert plot.exit_code == 0, plot.output
    assert [p.name for p in figures.iterdir()] == ["layers-csv_data.png"], plot.output
