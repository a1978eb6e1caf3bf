"""``bench data check|download``: thin wrappers over a task's own check and download."""
from __future__ import annotations

from pathlib import Path

from . import config


def check_task(task: str, data_home: str | Path | None = None, cache_dir: str | Path | None = None):
    from tasks import TASKS

    task_obj = TASKS.create(task)
    cache = config.cache_dir(cache_dir)
    return task_obj.check(task_obj.root(config.data_home(data_home), cache), cache)


def download_task(task: str, data_home: str | Path | None = None) -> str:
    from tasks import TASKS

    task_obj = TASKS.create(task)
    return task_obj.download(task_obj.root(config.data_home(data_home)))
