"""The Ray executor on a two-node loopback cluster (nodes on 127.0.0.2 and 127.0.0.3): the demo
grid's scores are bitwise those of the local executor, both nodes embed, and the cluster leaves
other Ray sessions of the machine alone."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import write_csv_dataset
from tests.test_ray import PLUGIN, run, scores, stored

ray = pytest.importorskip("ray", reason='the Ray executor is an optional extra: pip install -e ".[ray]"')

# Batchy, noting the Ray node of each batch it embeds
WHERE = PLUGIN + '''

class Where(Batchy):
    def embed(self, batch):
        import ray
        with open(os.path.join(HERE, "nodes"), "a") as handle:
            handle.write(ray.get_runtime_context().get_node_id() + "\\n")
        return super().embed(batch)
'''
DEFAULT_ADDRESS_FILE = Path("/tmp/ray/ray_current_cluster")


def _address_file() -> str | None:
    return DEFAULT_ADDRESS_FILE.read_text() if DEFAULT_ADDRESS_FILE.exists() else None


@pytest.fixture(scope="module")
def cluster():
    from tests.ray_cluster import loopback_cluster

    before = _address_file()
    with loopback_cluster(cpus_per_node=1) as nodes:
        # the address file Cluster writes is in the cluster's own temp folder, not /tmp/ray
        assert (Path(os.environ["RAY_TMPDIR"]) / "ray" / "ray_current_cluster").read_text() == nodes.address
        assert _address_file() == before
        yield nodes
    assert _address_file() == before and "RAY_TMPDIR" not in os.environ


def test_two_node_cluster_gives_bitwise_the_local_scores(cluster, tmp_path):
    alive = {n["NodeID"]: n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"]}
    assert sorted(alive.values()) == ["127.0.0.2", "127.0.0.3"]
    plugin = tmp_path / "plugin" / "where.py"
    plugin.parent.mkdir()
    plugin.write_text(WHERE)
    a = write_csv_dataset(tmp_path / "a", n_per_class=5, column="split")
    b = write_csv_dataset(tmp_path / "b", n_per_class=4, column="split")
    tasks = [f"csv:{a}", f"csv:{b.rename(b.with_name('other.csv'))}"]
    embedders = ["mfcc", f"{plugin}:Where"]
    common = dict(seeds=2, protocol="coala")
    local = run({**common, "cache_dir": tmp_path / "c1", "results_dir": tmp_path / "r1"}, embedders, tasks, "local",
                threads=1)
    (plugin.parent / "nodes").unlink()  # the driver's own batches
    on_ray = run({**common, "cache_dir": tmp_path / "c2", "results_dir": tmp_path / "r2"}, embedders, tasks, "ray",
                 threads=1)
    assert [o.status for o in on_ray] == ["done"] * 4
    assert scores(on_ray) == scores(local) and len(scores(local)) == 8
    # one CPU per node and one per worker: an actor on each node, both embedded
    assert set((plugin.parent / "nodes").read_text().split()) == set(alive)
    # the cache is not shared: the worker node's arrays come back and the driver writes them
    unshared = run({"seeds": 1, "protocol": "linear", "cache_dir": tmp_path / "c3", "results_dir": tmp_path / "r3"},
                   embedders[1:], tasks[:1], "ray", threads=1, shared_cache=False)
    assert [o.status for o in unshared] == ["done"]
    assert stored(tmp_path / "c3") == stored(tmp_path / "c2", only=stored(tmp_path / "c3"))
