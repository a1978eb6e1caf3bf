"""Issue 14: a run's numbers belong to the data, task and embedder the user described.

Stale results (the run key covers the audio's identity), leaking splits (refused where splits
reach the probe, for every task), one task name on two datasets, plugin cache keys that are
stable across processes, and embedder options that must be real."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

import cli
from tests.helpers import invoke, run_bench, tone, write_csv_dataset, write_wav


def accuracy(record: dict) -> float:
    return record["summary"]["accuracy"]["mean"]


# -- item 1: stale results ---------------------------------------------------------------------
def test_changed_audio_is_run_again_not_reported_as_complete(tmp_path):
    csv = write_csv_dataset(tmp_path / "data")
    first = run_bench("mfcc", f"csv:{csv}", seeds=2)
    assert accuracy(first) > 0.8
    rng = np.random.default_rng(0)
    for wav in sorted((tmp_path / "data" / "audio").glob("*.wav")):
        write_wav(wav, (0.3 * rng.standard_normal(11000)).astype(np.float32))  # same length, noise only
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", 2)
    assert code == 0, out
    assert "Already complete" not in out and "16 extracted" in out
    records = [json.loads(p.read_text()) for p in Path(os.environ["BENCH_RESULTS_DIR"]).glob("runs/*/*/*.json")]
    assert len(records) == 2 and records[0]["run_key"] != records[1]["run_key"]
    assert len({r["task"]["data_hash"] for r in records}) == 2
    noise = next(r for r in records if r["run_key"] != first["run_key"])
    assert accuracy(noise) < 0.8  # noise cannot be told apart as the tones were


def test_a_repaired_clip_skipped_earlier_is_used_on_the_next_run(tmp_path):
    csv = write_csv_dataset(tmp_path / "data")
    broken = tmp_path / "data" / "audio" / "high_2.wav"
    good = broken.read_bytes()
    broken.write_bytes(b"not audio")
    record = run_bench("mfcc", f"csv:{csv}", seeds=1, skip_missing=True)
    assert record["skipped"]["ids"] == ["audio/high_2.wav"]
    broken.write_bytes(good)
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", 1, "--skip-missing")
    assert code == 0, out
    assert "Already complete" not in out and "1 extracted" in out and "skipped" not in out


# -- item 5: file plugins keep one cache key across processes ----------------------------------
def test_a_file_plugin_hits_the_cache_and_the_record_in_a_second_process(tmp_path):
    import subprocess
    import sys

    from tests.test_registry import PLUGIN

    plugin = tmp_path / "plugin.py"
    plugin.write_text(PLUGIN)
    csv = write_csv_dataset(tmp_path / "data", n_per_class=4)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}  # hash() randomised per process
    command = [sys.executable, "-c", "import cli; cli.main()", "run", "-e", f"{plugin}:Energy",
               "-t", f"csv:{csv}", "--seeds", "1", "--protocol", "tests.datasets:COALA_FAST"]
    root = Path(__file__).resolve().parent.parent  # the checkout: tests.datasets importable there
    outs = [subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=600)
            for _ in range(2)]
    assert outs[0].returncode == 0, outs[0].stderr
    assert outs[1].returncode == 0, outs[1].stderr
    assert "8 extracted" in outs[0].stdout
    assert "Already complete" in outs[1].stdout
    (meta,) = Path(os.environ["BENCH_CACHE_DIR"]).glob("embeddings/*/embedder.json")
    # an edited plugin is other code: another module name, so another cache key
    from embedders import EMBEDDERS

    assert EMBEDDERS.create(f"{plugin}:Energy").config() == json.loads(meta.read_text())
    plugin.write_text(PLUGIN.replace("x.std(", "2 * x.std("))
    assert EMBEDDERS.create(f"{plugin}:Energy").config()["class"] != json.loads(meta.read_text())["class"]


# -- items 2 and 3: leaking splits ---------------------------------------------------------------
def test_a_single_fold_csv_is_refused_before_extraction_and_is_not_complete(tmp_path):
    csv = write_csv_dataset(tmp_path / "data")
    csv.write_text("".join(line.rsplit(",", 1)[0] + ",1\n" if i else line + "\n"
                           for i, line in enumerate(csv.read_text().splitlines())))
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", 1)
    assert code == 2 and "Traceback" not in out
    assert "Split 'fold1'" in out and "0/16/16" in out and "16 of its 16 test clips" in out
    assert "single fold" in out and "fsID" in out
    assert not list(Path(os.environ["BENCH_CACHE_DIR"]).glob("embeddings/*/shard-*.npy"))  # nothing extracted
    assert not list(Path(os.environ["BENCH_RESULTS_DIR"]).glob("runs/*/*/*.json"))
    code, out = invoke("data", "check", f"csv:{csv}")
    assert code == 1 and "INCOMPLETE" in out and "Split 'fold1'" in out


def test_a_file_listed_twice_is_refused_naming_the_lines(tmp_path):
    csv = write_csv_dataset(tmp_path / "data")
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join(lines + ["audio/low_0.wav,low,2", "audio/./low_0.wav,low,3"]) + "\n")
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", 1)
    assert code == 2 and "'audio/low_0.wav' on lines 2 (fold 1, label low), 18 (fold 2, label low), 19 (fold 3" in out
    assert "fsID" in out
    csv.write_text("\n".join(lines + ["audio/high_1.wav,low,2"]) + "\n")  # one file, two labels
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", 1)
    assert code == 2 and "lines 11 (fold 2, label high), 18 (fold 2, label low)" in out
    code, out = invoke("data", "check", f"csv:{csv}")
    assert code == 2 and "listed more than once" in out  # the CSV cannot be read as a task


@pytest.fixture
def fma(tmp_path):
    from tests.datasets import make_fma

    make_fma(tmp_path / "home", per_split=2)
    return tmp_path / "home"


def test_a_builtin_task_whose_split_leaks_is_refused(fma, monkeypatch):
    from benchmark.data.leaks import LeakError
    from tasks.fma import FMASmall

    real = FMASmall.splits

    def leaking(self, clips):
        (split,) = real(self, clips)
        return [split.__class__(split.name, split.train + split.test[:1], split.valid, split.test)]

    monkeypatch.setattr(FMASmall, "splits", leaking)
    with pytest.raises(LeakError, match=r"Split 'official' of task 'fma-small' \(train/valid/test = 3/2/2\)"):
        run_bench("mfcc", "fma-small", seeds=1, data_home=fma)
    code, out = invoke("data", "check", "fma-small", "--data-home", fma)
    assert code == 1 and "1 of its 2 test clips are also used for training (1)" in out


def test_the_same_audio_under_two_ids_is_a_leak_too(fma, monkeypatch):
    import dataclasses

    from benchmark.data.leaks import LeakError
    from tasks.fma import FMASmall

    real = FMASmall.clips

    def with_copy(self, root):
        clips = real(self, root)
        test = next(c for c in clips if c.group == "test")
        return clips + [dataclasses.replace(test, id="copy-of-" + test.id, group="train")]

    monkeypatch.setattr(FMASmall, "clips", with_copy)
    with pytest.raises(LeakError, match=r"1 of its 2 test clips are also used for training \(1\) \(e.g. 0"):
        run_bench("mfcc", "fma-small", seeds=1, data_home=fma)


def test_probe_split_itself_refuses_a_leak(tmp_path):
    """Any executor (local, Ray) hands its splits to the probe through probe_split."""
    from benchmark.data.clips import Split
    from benchmark.data.leaks import LeakError
    from benchmark.probe.protocols import PROTOCOLS
    from benchmark.run.runner import probe_split
    from tasks import TASKS

    csv = write_csv_dataset(tmp_path / "data", n_per_class=2)
    task = TASKS.create(f"csv:{csv}")
    clips = {c.id: c for c in task.clips(csv.parent)}
    ids = sorted(clips)
    frames = {i: np.ones((1, 3), np.float32) for i in ids}
    split = Split("leaky", tuple(ids[:3]), (), tuple(ids[2:]))
    with pytest.raises(LeakError, match="Split 'leaky'"):
        probe_split(task, PROTOCOLS.create("linear"), split, frames, clips, [0], "cpu")


# -- item 7: options and weights that would change nothing ---------------------------------------
def test_unknown_options_and_unused_weights_are_errors_that_list_what_is_accepted(tmp_path):
    from benchmark.core.errors import BenchError
    from embedders import EMBEDDERS

    csv = write_csv_dataset(tmp_path / "data", n_per_class=2)
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", 1, "--option", "n_mfcc=13")
    assert code == 2 and "does not use the option 'n_mfcc'" in out and "takes no --option" in out
    assert not list(Path(os.environ["BENCH_RESULTS_DIR"]).glob("runs/*/*/*.json"))
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"x")
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", 1, "--weights", weights)
    assert code == 2 and "has no weights to load" in out
    code, out = invoke("embed", "-e", "mfcc", csv.parent / "audio" / "low_0.wav", "-o", tmp_path / "o.npz",
                       "--option", "n_mfcc=13")
    assert code == 2 and "n_mfcc" in out
    with pytest.raises(BenchError, match=r"'vocb' \(did you mean 'vocab'\?\).*vocab \(tag vocabulary"):
        EMBEDDERS.create("w2v-128-mean-tags", vocb="v.json")
    with pytest.raises(BenchError, match=r"'resampeler' \(did you mean 'resampler'\?\)"):
        EMBEDDERS.create("musicnn-mtat", resampeler="soxr_hq")
    with pytest.raises(BenchError, match="seed applies to the random-init variant only"):
        EMBEDDERS.create("musicnn-mtat", seed=3)
    with pytest.raises(BenchError, match="has random weights"):
        EMBEDDERS.create("musicnn-random", weights=str(weights))
    # an option fixed by the name would be recorded under the wrong name
    with pytest.raises(BenchError, match="'coala' fixes variant='coala'"):
        EMBEDDERS.create("coala", variant="w2v-128-mean")
    assert EMBEDDERS.create("coala", variant="coala").variant == "coala"


def test_every_accepted_option_changes_the_cache_key(tmp_path):
    """What an embedder accepts must reach config(): otherwise the record says it was applied
    while the embeddings are the default ones."""
    from embedders import EMBEDDERS
    from embedders.base import accepted_names
    from tests.test_registry import PLUGIN

    assert accepted_names(type(EMBEDDERS.create("mfcc"))) == []  # the paper's fixed recipe
    plugin = tmp_path / "plugin.py"
    plugin.write_text(PLUGIN + '    accepted_options = {"gain": "input gain"}\n')
    base = EMBEDDERS.create(f"{plugin}:Energy").config()
    assert EMBEDDERS.create(f"{plugin}:Energy", gain=2).config() != base
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"one")
    first = EMBEDDERS.create(f"{plugin}:Energy", weights=str(weights)).config()
    weights.write_bytes(b"two")
    assert EMBEDDERS.create(f"{plugin}:Energy", weights=str(weights)).config() != first != base
    assert EMBEDDERS.create("musicnn-random", seed=1).config() != EMBEDDERS.create("musicnn-random").config()
    assert (EMBEDDERS.create("musicnn-mtat", resampler="soxr_hq").config()["res_type"]
            != EMBEDDERS.create("musicnn-mtat").config()["res_type"])


# -- item 4: one task name, two datasets; CSV specs that would be guessed at ---------------------
FAST = "tests.datasets:COALA_FAST"


def test_two_datasets_with_one_task_name_are_never_compared_or_tabulated_together(tmp_path):
    from tests.test_registry import PLUGIN

    plugin = tmp_path / "plugin.py"
    plugin.write_text(PLUGIN)
    d1 = write_csv_dataset(tmp_path / "d1", n_per_class=4)
    d2 = write_csv_dataset(tmp_path / "d2", n_per_class=4, classes=("a", "b"))
    assert run_bench("mfcc", f"csv:{d1}", seeds=2, protocol=FAST)["task"]["name"] == "csv:data"
    assert run_bench(f"{plugin}:Energy", f"csv:{d2}", seeds=2, protocol=FAST)["task"]["name"] == "csv:data"
    code, out = invoke("compare", "mfcc", "energy", "--task", "csv:data")
    assert code == 2 and "names 2 different clip sets" in out
    assert "'csv:d1/data.csv' (runs of mfcc)" in out and "'csv:d2/data.csv' (runs of energy)" in out
    code, out = invoke("compare", "mfcc", "energy", "--task", "csv:d1/data.csv")
    assert code == 2 and "No complete run of embedder 'energy'" in out
    code, out = invoke("table")
    assert code == 0 and "csv:d1/data.csv" in out and "csv:d2/data.csv" in out
    header = next(line for line in out.splitlines() if line.startswith("|"))
    assert header.count("csv:") == 2, out  # two columns, not one
    code, only = invoke("table", "-t", "csv:data")
    assert code == 0 and next(line for line in only.splitlines() if line.startswith("|")) == header
    code, one = invoke("table", "-t", f"csv:{d2}")
    assert code == 0 and "csv:d2/data.csv" in one and "csv:d1" not in one
    # the same clip set by both: compared, and named so
    run_bench("mfcc", f"csv:{d2}", seeds=2, protocol=FAST)
    code, out = invoke("compare", "mfcc", "energy", "--task", "csv:d2/data.csv")
    assert code == 0 and "on csv:d2/data.csv" in out


def test_compare_refuses_runs_on_audio_that_changed_between_them(tmp_path):
    from tests.test_registry import PLUGIN

    plugin = tmp_path / "plugin.py"
    plugin.write_text(PLUGIN)
    csv = write_csv_dataset(tmp_path / "data", n_per_class=4)
    run_bench("mfcc", f"csv:{csv}", seeds=2, protocol=FAST)
    write_wav(csv.parent / "audio" / "low_0.wav", tone(0.5, freq=900))
    run_bench(f"{plugin}:Energy", f"csv:{csv}", seeds=2, protocol=FAST)
    code, out = invoke("compare", "mfcc", "energy", "--task", "csv:data")
    assert code == 2 and "audio of task 'csv:data' changed" in out and "Run 'mfcc'" in out


@pytest.mark.parametrize("content, query, message", [
    (None, "?knd=regression", "Unknown option 'knd' (did you mean 'kind'?)"),
    ("path,label,fold,split\na.wav,x,1,train\n", "", "both a 'fold' and a 'split' column"),
    ("", "", "is empty"),
    ("path,label,fold\n", "", "has a header but no rows"),
    ("path,label,split\na.wav,1;2,train\nb.wav,3,test\nc.wav,4;5,test\n", "?kind=regression",
     "regression targets have 1 or 2 values per row (line 2 has 2; lines [3] differ)"),
])
def test_csv_specs_that_bench_would_have_to_guess_at_are_errors(tmp_path, content, query, message):
    csv = write_csv_dataset(tmp_path, n_per_class=2) if content is None else tmp_path / "data.csv"
    if content is not None:
        csv.write_text(content)
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}{query}", "--seeds", 1)
    assert code == 2 and message in out and "Traceback" not in out
    assert not list(Path(os.environ["BENCH_RESULTS_DIR"]).glob("runs/*/*/*.json"))


def test_a_paper_table_takes_one_clip_set_per_task_and_says_what_it_left_out(tmp_path):
    from _report_runs import write_run
    from benchmark.records.reference import PAPERS
    from benchmark.report.table import paper_table

    full = write_run(tmp_path, "us8k", "coala", 0.8)
    partial = write_run(tmp_path, "us8k", "mfcc", 0.7)
    full["task"].update(clip_hash="a" * 16, n_clips=8732)
    partial["task"].update(clip_hash="b" * 16, n_clips=8000)  # run with --skip-missing on fewer clips
    table = paper_table(PAPERS["coala"][0], [full, partial])
    ours = [c for row in table.rows if row.kind == "ours" for c in row.cells if c.status == "ok"]
    assert [c.embedder for c in ours] == ["coala"]
    assert any("us8k (8000 clips)" in note for note in table.notes)
