"""RunSpec: a frozen, comparable description of one run; grids are lists of them."""
import dataclasses
import pickle
from pathlib import Path

import pytest

from benchmark.spec import RunSpec, grid


def test_spec_is_frozen_normalised_and_picklable(tmp_path):
    a = RunSpec("mfcc", "demo", options={"b": 2, "a": "x"}, cache_dir=tmp_path)
    b = RunSpec("mfcc", "demo", options=(("a", "x"), ("b", 2)), cache_dir=str(tmp_path))
    assert a == b and a.options == (("a", "x"), ("b", 2)) and a.embedder_options == {"a": "x", "b": 2}
    assert isinstance(a.cache_dir, str) and Path(a.cache_dir) == tmp_path
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.seeds = 3
    assert pickle.loads(pickle.dumps(a)) == a
    assert a.replace(seeds=3).seeds == 3 and a.seeds == 10


def test_grid_is_embedders_outer_without_repeats():
    specs = grid(["mfcc", "coala", "mfcc"], ["demo", "us8k"], seeds=2)
    assert [(s.embedder, s.task) for s in specs] == [("mfcc", "demo"), ("mfcc", "us8k"), ("coala", "demo"),
                                                     ("coala", "us8k")]
    assert all(s.seeds == 2 for s in specs)


def test_label_tells_the_cells_of_a_sweep_apart():
    plain = RunSpec("mfcc", "demo")
    labels = {plain.label(), plain.replace(train_fraction=0.5).label(), plain.replace(train_per_class=2).label(),
              plain.replace(layer=3).label(), plain.replace(protocol="knn").label()}
    assert len(labels) == 5
    assert plain.label() == "mfcc on demo"
    assert plain.replace(protocol="knn", train_fraction=0.01).label() == "mfcc on demo (knn, 1% of training)"


def test_grid_summary_names_each_fraction(tmp_path):
    from click.testing import CliRunner

    import cli

    result = CliRunner().invoke(cli.cli, ["run", "-e", "mfcc", "-t", "demo", "--seeds", "1",
                                          "--train-fraction", "0.5,1", "--results-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = result.output.split("Grid summary:")[1]
    assert "mfcc on demo (50% of training)" in summary and "  mfcc on demo\n" in summary
