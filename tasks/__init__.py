"""Built-in tasks, installed plugins (entry-point group ``bench.tasks``), ``csv:PATH`` for a
user's own dataset, and ``module:Class`` / ``file.py:Class`` specs, through one registry."""
from __future__ import annotations

from typing import Any

from benchmark.core.registry import Registry

# name -> "module:Class" or ("module:Class", {constructor kwargs}); imported only when used
BUILTINS: dict[str, Any] = {
    "demo": "tasks.synthetic:DemoTask",
    "us8k-tag": "tasks.us8k_tag:US8KTag",
    "us8k": "tasks.us8k:UrbanSound8K",
    "gtzan": "tasks.gtzan:GTZAN",
    "nsynth": "tasks.nsynth:NSynth",
    "nsynth-full": "tasks.nsynth:NSynthFull",
    "fma-small": "tasks.fma:FMASmall",
    "mtat": "tasks.mtat:MagnaTagATune",
    "mtg-top50": "tasks.jamendo:MTGJamendo",
    "mtg-genre": "tasks.jamendo:MTGGenre",
    "mtg-instrument": "tasks.jamendo:MTGInstrument",
    "mtg-moodtheme": "tasks.jamendo:MTGMoodTheme",
    "emomusic": "tasks.emomusic:Emomusic",
    "esc50": "tasks.esc50:ESC50",
    "esc10": "tasks.esc50:ESC10",
}


def _csv(spec: str, **kwargs: Any) -> Any:
    from .csvtask import CsvTask

    return CsvTask.from_spec(spec, **kwargs)


TASKS = Registry("task", BUILTINS, "bench.tasks", {"csv": _csv}, base="tasks.base:Task")
