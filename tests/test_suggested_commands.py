"""Messages that suggest a command (issue 14, "Messages that mislead"): each suggested command is
collected from the real message and checked against the real command line; where cheap it is run."""
from __future__ import annotations

import shutil

import pytest

from suggested import check_suggestions, parse, suggested_commands
from tests.helpers import invoke, write_csv_dataset
from tests.test_registry import PLUGIN


def test_the_helper_catches_commands_that_do_not_work():
    text = "Run 'bench embed -e mfcc a.wav -o x.npz --skip-missing' or `bench data check` or 'bench list tasks'."
    assert suggested_commands(text) == [["embed", "-e", "mfcc", "a.wav", "-o", "x.npz", "--skip-missing"],
                                        ["data", "check"], ["list", "tasks"]]
    for args in suggested_commands(text)[:2]:
        with pytest.raises(Exception):
            parse(args)
    parse(["list", "tasks"])


def test_missing_audio_suggests_a_data_check_that_finds_the_csv(tmp_path, monkeypatch):
    csv = write_csv_dataset(tmp_path / "data")
    (tmp_path / "data" / "audio" / "low_3.wav").unlink()
    monkeypatch.chdir(tmp_path / "data")  # a relative spec, as a user types it
    code, out = invoke("run", "-e", "mfcc", "-t", "csv:data.csv", "--seeds", 1)
    assert code == 2
    (args,) = check_suggestions(out)
    assert args[:2] == ["data", "check"] and args[2] == f"csv:{csv}"
    monkeypatch.chdir(tmp_path)  # from elsewhere, as printed
    code, report = invoke(*args)
    assert code == 1 and "low_3.wav" in report and "not found" not in report


def test_compare_suggests_a_run_with_the_plugin_file_and_the_csv_path(tmp_path):
    plugin = tmp_path / "plugins" / "good.py"
    plugin.parent.mkdir()
    plugin.write_text(PLUGIN)
    first = write_csv_dataset(tmp_path / "d1")
    fold = write_csv_dataset(tmp_path / "d2")
    shutil.move(fold, fold.with_name("fold.csv"))
    fold = fold.with_name("fold.csv")
    assert invoke("run", "-e", f"{plugin}:Energy", "-t", f"csv:{first}", "--seeds", 1)[0] == 0
    assert invoke("run", "-e", "mfcc", "-t", f"csv:{fold}", "--seeds", 1)[0] == 0
    code, out = invoke("compare", "energy", "mfcc", "-t", "csv:fold")
    assert code == 2 and "No complete run of embedder 'energy'" in out
    (args,) = check_suggestions(out)
    assert args == ["run", "--embedder", f"{plugin}:Energy", "--task", f"csv:{fold}"]
    code, out = invoke(*args, "--seeds", 1)
    assert code == 0, out
    code, out = invoke("compare", "energy", "mfcc", "-t", "csv:fold")
    assert code == 0 and "verdict:" in out


def test_compare_without_a_record_of_the_names_gives_no_false_command(tmp_path):
    fold = write_csv_dataset(tmp_path / "d2")
    assert invoke("run", "-e", "mfcc", "-t", f"csv:{fold}", "--seeds", 1)[0] == 0
    code, out = invoke("compare", "good", "mfcc", "-t", "csv:data")
    assert code == 2 and suggested_commands(out) == []
    assert "path/to/file.py:Class" in out
    code, out = invoke("compare", "mfcc", "coala", "-t", "csv:data")  # a registered name: a command
    (args,) = check_suggestions(out)
    assert args == ["run", "--embedder", "coala", "--task", f"csv:{fold}"]


def test_bench_embed_does_not_offer_an_option_it_lacks(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    code, out = invoke("embed", "-e", "mfcc", bad, "-o", tmp_path / "x.npz")
    assert code == 2 and "bad.wav" in out and "--skip-missing" not in out
    assert suggested_commands(out) == []
    csv = write_csv_dataset(tmp_path / "data")
    (tmp_path / "data" / "audio" / "high_2.wav").write_bytes(b"not audio")
    code, out = invoke("run", "-e", "mfcc", "-t", f"csv:{csv}", "--seeds", 1)
    assert code == 2 and "--skip-missing" in out  # bench run has it


def test_offline_download_fails_and_does_not_send_the_user_round(monkeypatch, tmp_path):
    monkeypatch.setenv("BENCH_OFFLINE", "1")
    for task in ("us8k", "gtzan", "esc50"):
        code, out = invoke("data", "download", task, "--data-home", tmp_path)
        assert code == 2 and "Nothing downloaded" in out and "BENCH_OFFLINE" in out, out
        assert f"bench data download {task}" not in out
        assert "http" in out  # the manual steps are there


BAD_OUTPUT = PLUGIN + '''

class Wrong(Energy):
    def embed(self, batch):
        return [x[:, None].repeat(3, axis=1)[:4] for x in batch]
'''


def test_embedder_output_errors_suggest_the_checker_with_the_plugin_spec(tmp_path):
    plugin = tmp_path / "wrong.py"
    plugin.write_text(BAD_OUTPUT)
    csv = write_csv_dataset(tmp_path / "data", n_per_class=4)
    code, out = invoke("run", "-e", f"{plugin}:Wrong", "-t", f"csv:{csv}", "--seeds", 1)
    assert code == 2 and "returned shape" in out
    (args,) = check_suggestions(out)
    assert args == ["check-embedder", f"{plugin}:Wrong"]
    code, report = invoke(*args)
    assert code == 1 and "dim" in report  # the checker runs and finds the fault


@pytest.mark.parametrize("args, suggested", [
    (("run", "-e", "mfc", "-t", "demo"), ["list", "embedders"]),
    (("run", "-e", "mfcc", "-t", "us8k", "--data-home", "{tmp}"), ["data", "download", "us8k"]),
    (("run", "-e", "mfcc", "-t", "demo", "--protocol", "COALA"), ["list", "protocols"]),
    (("table", "--results-dir", "{tmp}/none"), ["run", "--embedder", "mfcc", "--task", "demo"]),
    (("table", "--results-dir", "{tmp}"), ["run", "--embedder", "mfcc", "--task", "demo"]),
    (("plot", "--results-dir", "{tmp}"), ["run", "--embedder", "mfcc", "--task", "demo"]),
    (("check-embedder", "nosuch"), ["list", "embedders"]),
    (("data", "check", "gtzan", "--data-home", "{tmp}"), ["data", "download", "gtzan"]),
])
def test_every_suggestion_in_common_errors_parses(tmp_path, args, suggested):
    """Each of these errors suggests a command (it once passed when none was suggested), and every
    command it suggests parses."""
    (tmp_path / "runs").mkdir()
    code, out = invoke(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert code in (1, 2), out
    assert suggested in check_suggestions(out), out


MISSING_TASK = '''
from pathlib import Path
from tasks.base import Task

class Elsewhere(Task):
    name = "elsewhere"
    dataset = "elsewhere-data"
    labels = ("a", "b")
    download_help = "Copy the elsewhere dataset by hand."

    def clips(self, root):
        self.require_root(Path(root))
        return []

    def splits(self, clips):
        return []
'''


def test_a_plugin_task_without_data_suggests_its_own_download_command(tmp_path):
    (tmp_path / "elsewhere.py").write_text(MISSING_TASK)
    code, out = invoke("run", "-e", "mfcc", "-t", f"{tmp_path}/elsewhere.py:Elsewhere", "--data-home", tmp_path)
    assert code == 2 and "Dataset folder for task 'elsewhere' not found" in out
    (args,) = check_suggestions(out)
    assert args == ["data", "download", f"{tmp_path}/elsewhere.py:Elsewhere"]
    code, steps = invoke(*args)
    assert code == 0 and "Copy the elsewhere dataset by hand." in steps


@pytest.mark.parametrize("variant, label", [(("--train-fraction", "0.5"), "coala@50%"),
                                            (("--train-per-class", "2"), "coala@2/class")])
def test_compare_of_a_variant_suggests_the_run_that_makes_it(tmp_path, variant, label):
    """``--protocol coala@50%`` names a table's label; the suggested run must be one bench accepts and
    whose record compare then finds (it once suggested ``bench run --protocol coala@50%``)."""
    plugin = tmp_path / "plugins" / "good.py"
    plugin.parent.mkdir()
    plugin.write_text(PLUGIN)
    data = write_csv_dataset(tmp_path / "d")
    assert invoke("run", "-e", f"{plugin}:Energy", "-t", f"csv:{data}", "--seeds", 1, *variant)[0] == 0
    code, out = invoke("compare", "energy", "mfcc", "-t", "csv:data", "--protocol", label)
    assert code == 2
    (args,) = check_suggestions(out)
    assert args[args.index("--protocol") + 1] == "coala" and variant[0] in args
    code, out = invoke(*args, "--seeds", 1)
    assert code == 0, out
    code, out = invoke("compare", "energy", "mfcc", "-t", "csv:data", "--protocol", label)
    assert "No complete run" not in out and code in (0, 1), out


def test_run_options_of_every_label_part():
    from benchmark.records.variants import run_options

    assert run_options("coala") == {"protocol": "coala", "fast_matmul": False}
    assert run_options("coala+fast-matmul@10%") == {"protocol": "coala", "fast_matmul": True, "train_fraction": "0.1"}
    assert run_options("linear@1%") == {"protocol": "linear", "fast_matmul": False, "train_fraction": "0.01"}
    assert run_options("coala@5/class")["train_per_class"] == 5
