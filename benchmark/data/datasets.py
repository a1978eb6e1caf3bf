"""``bench data check|download``: thin wrappers over a task's own check and download."""
from __future__ import annotations

from pathlib import Path

from benchmark.core import config
from benchmark.core.registry import Registries


def check_task(registries: Registries, task: str, data_home: str | Path | None = None,
               cache_dir: str | Path | None = None):
    task_obj = registries.tasks.create(task)
    cache = config.cache_dir(cache_dir)
    return task_obj.check(task_obj.root(config.data_home(data_home), cache), cache)


def download_task(registries: Registries, task: str, data_home: str | Path | None = None) -> str:
    task_obj = registries.tasks.create(task)
    return task_obj.download(task_obj.root(config.data_home(data_home)))
