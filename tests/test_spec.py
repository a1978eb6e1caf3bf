"""RunSpec: a frozen, comparable description of one run; grids are lists of them."""
import dataclasses
import pickle

import pytest

from benchmark.core.spec import RunEnv, RunSpec, grid


def test_spec_is_frozen_normalised_and_picklable(tmp_path):
    a = RunSpec("mfcc", "demo", options={"b": 2, "a": "x"}, weights=tmp_path / "w.pt")
    b = RunSpec("mfcc", "demo", options=(("a", "x"), ("b", 2)), weights=str(tmp_path / "w.pt"))
    assert a == b and a.options == (("a", "x"), ("b", 2)) and a.embedder_options == {"a": "x", "b": 2}
    assert isinstance(a.weights, str)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.seeds = 3
    assert pickle.loads(pickle.dumps(a)) == a
    assert a.replace(seeds=3).seeds == 3 and a.seeds == 10


def test_the_spec_holds_what_changes_the_numbers_and_the_env_how_they_are_computed(tmp_path):
    spec_fields = {f.name for f in dataclasses.fields(RunSpec)}
    env_fields = {f.name for f in dataclasses.fields(RunEnv)}
    assert not spec_fields & env_fields
    assert {"threads", "device", "jobs", "executor", "address", "data_home", "cache_dir", "results_dir"} <= env_fields
    env = RunEnv(cache_dir=tmp_path, threads=2)
    assert isinstance(env.cache_dir, str) and pickle.loads(pickle.dumps(env)) == env
    assert env.to_record() == {"threads": 2, "device": None, "jobs": 1, "executor": "local"}


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
