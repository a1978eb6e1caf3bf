from importlib import metadata

import pytest

from benchmark.core.errors import UnknownNameError
from benchmark.probe.protocols import PROTOCOLS
from embedders import EMBEDDERS
from tasks import TASKS

PLUGIN = '''
import numpy as np
from embedders.base import Embedder

class Energy(Embedder):
    """Frame energies: a plugin written against the documented base class."""
    name = "energy"
    sample_rate = 8000
    dim = 2

    def embed(self, batch):
        return [np.stack([np.abs(x).mean(keepdims=True), x.std(keepdims=True)], axis=1).astype("float32") for x in batch]
'''


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownNameError, match="Did you mean: mfcc"):
        EMBEDDERS.create("mfc")
    with pytest.raises(UnknownNameError, match="Did you mean: demo"):
        TASKS.create("dmeo")
    with pytest.raises(UnknownNameError, match="Did you mean: coala"):
        PROTOCOLS.create("coal")


def test_builtin_gets_its_registry_name():
    embedder = EMBEDDERS.create("mfcc", device="cpu")
    assert embedder.name == "mfcc" and embedder.dim == 120


def test_file_plugin_outside_the_project(tmp_path):
    plugin = tmp_path / "my_plugin.py"
    plugin.write_text(PLUGIN)
    embedder = EMBEDDERS.create(f"{plugin}:Energy", device="cpu")
    assert embedder.name == "energy" and embedder.sample_rate == 8000
    with pytest.raises(UnknownNameError, match="Did you mean: Energy"):
        EMBEDDERS.create(f"{plugin}:Enrgy")
    with pytest.raises(UnknownNameError, match="not found"):
        EMBEDDERS.create(f"{tmp_path}/absent.py:Energy")


def test_module_class_spec():
    embedder = EMBEDDERS.create("embedders.mfcc:MFCC", device="cpu")
    assert embedder.dim == 120


def test_entry_point_plugins_are_listed_and_loaded(monkeypatch):
    point = metadata.EntryPoint(name="my-mfcc", value="embedders.mfcc:MFCC", group="bench.embedders")
    real = metadata.entry_points

    def fake(**kwargs):
        return [point] if kwargs.get("group") == "bench.embedders" else real(**kwargs)

    monkeypatch.setattr(metadata, "entry_points", fake)
    assert "my-mfcc" in EMBEDDERS.names()
    assert EMBEDDERS.create("my-mfcc", device="cpu").dim == 120
