"""A two-node Ray cluster on loopback (head on 127.0.0.2, a worker node on 127.0.0.3), for the
tests and benchmarks/grid.py.

``ray.cluster_utils.Cluster`` writes the head's address to ``$RAY_TMPDIR/ray/ray_current_cluster``
(default ``/tmp/ray/``, whatever ``temp_dir`` its nodes get) and deletes that file on shutdown:
with the default it would point other Ray users of this machine (``ray.init(address="auto")``,
``ray status``) at this cluster, then delete their own address file. So ``RAY_TMPDIR`` is a
folder of our own for the cluster's whole life, and every node's sessions live there too.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from typing import Any, Iterator

HEAD_IP, WORKER_IP = "127.0.0.2", "127.0.0.3"


@contextmanager
def _environ(**values: str) -> Iterator[None]:
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def loopback_cluster(cpus_per_node: int = 1, object_store_mb: int = 80) -> Iterator[Any]:
    """Two nodes of ``cpus_per_node`` CPUs each, this process connected as the driver (on the
    head); all shut down and their temp folder removed at the end. Yields the Cluster."""
    import ray
    from ray.cluster_utils import Cluster

    from benchmark.run.executors.ray import runtime_env

    # short: Ray's unix sockets live below it and their paths are limited to 107 characters
    temp = tempfile.mkdtemp(prefix="bray-", dir="/tmp")
    memory = object_store_mb * 1024 * 1024
    cluster = None
    try:
        with _environ(RAY_TMPDIR=temp, RAY_AUTH_MODE="disabled"):
            try:
                cluster = Cluster(initialize_head=True, head_node_args={
                    "num_cpus": cpus_per_node, "node_ip_address": HEAD_IP, "include_dashboard": False,
                    "object_store_memory": memory})
                cluster.add_node(num_cpus=cpus_per_node, node_ip_address=WORKER_IP, object_store_memory=memory)
                ray.init(address=cluster.address, _node_ip_address=HEAD_IP, log_to_driver=False,
                         runtime_env=runtime_env())
                yield cluster
            finally:
                ray.shutdown()
                if cluster is not None:
                    cluster.shutdown()
    finally:
        shutil.rmtree(temp, ignore_errors=True)
