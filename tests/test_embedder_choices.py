"""One embedder run with other weights or options is another system: tables show both rows, named
apart, and compare asks which one is meant (before, the newest run silently hid the other)."""

from benchmark.records.identity import label_embedders
from tests.helpers import invoke, write_csv_dataset

PLUGIN = '''
import numpy as np
from embedders.base import Embedder

class Scaled(Embedder):
    """Frame energies times a factor read from the weights file, times the gain option."""
    name = "scaled"
    sample_rate = 8000
    dim = 2
    accepted_options = {"gain": "a factor"}

    def load(self):
        self.factor = float(open(self.weights).read()) if self.weights else 1.0

    def embed(self, batch):
        gain = float(self.options.get("gain", 1.0)) * self.factor
        return [gain * np.stack([np.abs(x).mean(keepdims=True), x.std(keepdims=True)], axis=1).astype("float32")
                for x in batch]
'''


def test_runs_with_other_weights_are_rows_of_their_own(tmp_path):
    plugin = tmp_path / "scaled.py"
    plugin.write_text(PLUGIN)
    (tmp_path / "a.txt").write_text("1.0")
    (tmp_path / "b.txt").write_text("3.0")
    csv = write_csv_dataset(tmp_path / "data")
    results = tmp_path / "results"
    common = ["-e", f"{plugin}:Scaled", "-t", f"csv:{csv}", "--seeds", 2, "--results-dir", results]
    for weights in ("a.txt", "b.txt"):
        assert invoke("run", *common, "--weights", tmp_path / weights)[0] == 0

    code, table = invoke("table", "--results-dir", results, "-e", "scaled")
    assert code == 0, table
    rows = [line for line in table.splitlines() if line.startswith("| scaled")]
    assert len(rows) == 2 and all("weights_sha256=" in row for row in rows), table

    labels = [row.split("|")[1].strip() for row in rows]
    code, out = invoke("compare", "scaled", labels[0], "-t", "csv:data", "--results-dir", results)
    assert code == 2 and "different weights or options" in out and all(f"'{label}'" in out for label in labels)
    code, out = invoke("compare", *labels, "-t", "csv:data", "--results-dir", results)
    assert code in (0, 1) and all(label in out for label in labels) and "No complete run" not in out, out


def test_labels_name_the_differing_option_and_keep_the_layer_last():
    def record(name, options, version="1"):
        return {"embedder": {"name": name, "config": {"options": options, "version": version}}}

    records = [record("hf:x@6", {"pool": 0}), record("hf:x@6", {}), record("mfcc", {}, "1"), record("mfcc", {}, "2"),
               record("coala", {"layers": "all"}), record("coala", {})]  # which layers are cached: one system
    label_embedders(records)
    assert [r["embedder"].get("label") for r in records] == ["hf:x [pool=0]@6", "hf:x [pool=default]@6",
                                                             None, None, None, None]
