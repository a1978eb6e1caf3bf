"""The Ray executor on a two-node loopback cluster (nodes on 127.0.0.2 and 127.0.0.3): the grid's
scores are bitwise those of the local executor."""
from __future__ import annotations

import os

import pytest

from tests.test_ray import PLUGIN, run, scores
from tests.helpers import write_csv_dataset

ray = pytest.importorskip("ray", reason='the Ray executor is an optional extra: pip install -e ".[ray]"')


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    os.environ["RAY_AUTH_MODE"] = "disabled"
    from ray.cluster_utils import Cluster

    from benchmark.executors.ray import runtime_env

    memory = 80 * 1024 * 1024
    nodes = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "node_ip_address": "127.0.0.2", "include_dashboard": False,
        "temp_dir": str(tmp_path_factory.mktemp("ray")), "object_store_memory": memory})
    try:
        nodes.add_node(num_cpus=1, node_ip_address="127.0.0.3", object_store_memory=memory)
        ray.init(address=nodes.address, log_to_driver=False, runtime_env=runtime_env())
        yield nodes
    finally:
        ray.shutdown()
        nodes.shutdown()


def test_two_node_cluster_gives_bitwise_the_local_scores(cluster, tmp_path):
    assert len([n for n in ray.nodes() if n["Alive"]]) == 2
    plugin = tmp_path / "plugin" / "batchy.py"
    plugin.parent.mkdir()
    plugin.write_text(PLUGIN)
    a = write_csv_dataset(tmp_path / "a", n_per_class=5, column="split")
    b = write_csv_dataset(tmp_path / "b", n_per_class=4, column="split")
    tasks = [f"csv:{a}", f"csv:{b.rename(b.with_name('other.csv'))}"]
    embedders = ["mfcc", f"{plugin}:Batchy"]
    common = dict(seeds=2, protocol="coala")
    local = run({**common, "cache_dir": tmp_path / "c1", "results_dir": tmp_path / "r1"}, embedders, tasks, "local",
                threads=1)
    on_ray = run({**common, "cache_dir": tmp_path / "c2", "results_dir": tmp_path / "r2"}, embedders, tasks, "ray",
                 threads=1)
    assert scores(on_ray) == scores(local) and len(scores(local)) == 8
    # both nodes embedded: one actor per node (1 CPU each, 1 CPU per worker)
    assert len(set((plugin.parent / "log").read_text().split()) - {str(os.getpid())}) == 2
