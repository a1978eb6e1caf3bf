"""``bench check-embedder``: good embedders pass, each kind of contract breach fails with a clear message."""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import cli
from benchmark.embed.check_embedder import DURATIONS, check_embedder, generated_audio, generated_tags
from benchmark.core.errors import UnknownNameError

PLUGINS = '''
import numpy as np
from embedders.base import Embedder
from benchmark.core.errors import WeightsError


class Good(Embedder):
    """Frame-wise log energy and zero crossings, 100 ms frames."""
    sample_rate = 8000
    dim = 2

    def embed(self, batch):
        out = []
        for x in batch:
            n = max(1, len(x) // 800)
            frames = np.resize(x, (n, 800)) if len(x) >= 800 else np.pad(x, (0, 800 - len(x)))[None]
            energy = np.log(np.mean(frames ** 2, axis=1) + 1e-8)
            zc = np.mean(np.abs(np.diff(np.sign(frames), axis=1)), axis=1)
            out.append(np.stack([energy, zc], axis=1).astype(np.float32))
        return out


class WrongDim(Good):
    dim = 3


class Float64(Good):
    def embed(self, batch):
        return [o.astype(np.float64) for o in super().embed(batch)]


class NaNs(Good):
    def embed(self, batch):
        out = super().embed(batch)
        out[-1][0, 0] = np.nan
        return out


class Random(Good):
    def embed(self, batch):
        return [o + np.random.rand(*o.shape).astype(np.float32) for o in super().embed(batch)]


class BatchNormish(Good):
    """Normalises with statistics of the whole batch: output depends on the other clips."""
    def embed(self, batch):
        out = super().embed(batch)
        mean = np.concatenate(out).mean(axis=0)
        return [o - mean for o in out]


class DropsOne(Good):
    def embed(self, batch):
        return super().embed(batch)[:-1]


class NoFrames(Good):
    def embed(self, batch):
        return [np.zeros((0, 2), np.float32) for _ in batch]


class MissingWeights(Good):
    def load(self):
        raise WeightsError("Weights not found: put model.pt at /somewhere/model.pt")


class Crashes(Good):
    def embed(self, batch):
        return [x.reshape(-1, 7) for x in batch]


class Tags(Embedder):
    """Bag of hashed words: 8 buckets, one vector per sound."""
    input_kind = "tags"
    dim = 8

    def embed(self, batch):
        out = []
        for tags in batch:
            v = np.zeros((1, 8), np.float32)
            for tag in tags:
                v[0, sum(map(ord, tag)) % 8] += 1
            out.append(v)
        return out


class TagsBatchNormish(Tags):
    def embed(self, batch):
        out = super().embed(batch)
        return [o / len(batch) for o in out]


class Unstable(Good):
    def config(self):
        import time
        return {**super().config(), "now": time.perf_counter()}
'''


@pytest.fixture
def plugin(tmp_path: Path):
    path = tmp_path / "plugins.py"
    path.write_text(textwrap.dedent(PLUGINS))
    return lambda cls: f"{path}:{cls}"


def _failed(report) -> dict[str, str]:
    return {c.name: c.detail for c in report.checks if not c.ok}


def test_good_plugin_passes(plugin):
    report = check_embedder(plugin("Good"), device="cpu", registries=cli.registries())
    assert report.ok, report.format()
    assert set(report.frames) == {f"{d:g} s" for d in DURATIONS}
    assert report.frames["30 s"] == (300, 2) and report.frames["0.1 s"] == (1, 2)
    assert report.throughput and report.throughput > 0
    assert report.audio_seconds == pytest.approx(sum(DURATIONS))
    text = report.format()
    assert "OK" in text and "s of audio per second" in text and "FAIL" not in text


def test_mfcc_passes():
    report = check_embedder("mfcc", device="cpu", registries=cli.registries())
    assert report.ok, report.format()
    assert all(shape == (1, 120) for shape in report.frames.values())


@pytest.mark.parametrize(
    "cls,check,message",
    [
        ("WrongDim", "output 0.1 s", "shape (1, 2), expected (n_frames >= 1, 3)"),
        ("Float64", "output 1 s", "dtype float64, expected float32"),
        ("NaNs", "output 30 s", "1 NaN/inf values"),
        ("Random", "determinism", "differs on a second run"),
        ("BatchNormish", "batch independence", "depends on the other inputs of the batch"),
        ("DropsOne", "output count", "returned 3 outputs for 4 inputs"),
        ("TagsBatchNormish", "batch independence", "depends on the other inputs of the batch"),
        ("NoFrames", "output 10 s", "shape (0, 2), expected (n_frames >= 1, 2)"),
        ("MissingWeights", "load", "put model.pt at /somewhere/model.pt"),
        ("Crashes", "embed (batch)", "ValueError"),
        ("Unstable", "config", "changes between calls"),
    ],
)
def test_contract_breaches_fail_clearly(plugin, cls, check, message):
    report = check_embedder(plugin(cls), device="cpu", registries=cli.registries())
    assert not report.ok
    failed = _failed(report)
    assert check in failed, report.format()
    assert message in failed[check]
    text = report.format()
    assert f"FAIL  {check}" in text and "FAILED" in text


def test_tag_embedders_are_checked_on_generated_tags(plugin):
    report = check_embedder(plugin("Tags"), device="cpu", registries=cli.registries())
    assert report.ok, report.format()
    assert set(report.frames) == {"1 tag", "3 tags", "10 tags", "30 tags"}
    text = report.format()
    assert "inputs per second" in text and "tags, dim 8" in text
    assert len(set(generated_tags(30))) == 30 and generated_tags(3) == ("dog", "bark", "street")


def test_real_tag_encoder_passes(shared, monkeypatch):
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(shared / "weights"))
    monkeypatch.setenv("BENCH_OFFLINE", "1")
    report = check_embedder("w2v-128-1h-tags", device="cpu", registries=cli.registries())
    assert report.ok, report.format()
    assert all(shape == (1, 128) for shape in report.frames.values())


def test_unknown_name_is_a_user_error():
    with pytest.raises(UnknownNameError, match="Did you mean"):
        check_embedder("mfccc", registries=cli.registries())


def test_generated_audio_is_deterministic():
    a, b = generated_audio(1.0, 16000), generated_audio(1.0, 16000)
    assert a.dtype == np.float32 and a.shape == (16000,) and np.array_equal(a, b)
    assert 0.05 < np.abs(a).max() < 1.0
    assert generated_audio(0.1, 22000).shape == (2200,)


def test_cli_exit_codes(plugin):
    from cli import cli

    runner = CliRunner()
    good = runner.invoke(cli, ["check-embedder", plugin("Good"), "--device", "cpu"])
    assert good.exit_code == 0, good.output
    assert "OK: the embedder meets the contract." in good.output
    bad = runner.invoke(cli, ["check-embedder", plugin("WrongDim")])
    assert bad.exit_code == 1
    assert "FAIL  output 0.1 s" in bad.output and "expected (n_frames >= 1, 3)" in bad.output
    unknown = runner.invoke(cli, ["check-embedder", "no-such-embedder"])
    assert unknown.exit_code == 2 and "Unknown embedder" in unknown.output
