"""Small builders shared by the foundation tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile


def tone(seconds: float = 1.0, sr: int = 22000, freq: float = 440.0, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t) + noise * rng.standard_normal(t.size)).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray, sr: int = 22000, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, samples, sr, **kwargs)
    return path


def write_csv_dataset(folder: Path, n_per_class: int = 8, classes=("low", "high"), column: str = "fold") -> Path:
    """A tiny CSV task: tones of two pitch classes, 4 folds or a train/valid/test split."""
    rows = ["path,label," + column]
    for c, label in enumerate(classes):
        for i in range(n_per_class):
            rel = f"audio/{label}_{i}.wav"
            write_wav(folder / rel, tone(0.5, freq=(300 if c == 0 else 2000) * (1 + 0.05 * i), seed=i))
            group = str(i % 4 + 1) if column == "fold" else ("train" if i < n_per_class - 3 else "valid" if i == n_per_class - 3 else "test")
            rows.append(f"{rel},{label},{group}")
    csv = folder / "data.csv"
    csv.write_text("\n".join(rows) + "\n")
    return csv


def run_args(embedder: str, task: str, **fields) -> list[str]:
    """The ``bench run`` arguments of a RunSpec's (and RunEnv's) fields."""
    import json

    args = ["run", "-e", embedder, "-t", task]
    for name, value in fields.items():
        flag = "--" + name.replace("_", "-")
        if value is None or value is False:
            continue
        if name == "options":
            args += [a for k, v in dict(value).items() for a in ("--option", f"{k}={json.dumps(v) if not isinstance(v, str) else v}")]
        elif value is True:
            args.append(flag)
        else:
            args += [flag, str(value)]
    return args


def run_bench(embedder: str, task: str, **fields) -> dict:
    """``bench run -e EMBEDDER -t TASK --field value…`` through the command line, as users run it;
    its RunRecord. A user error (or an interrupt) is raised as the exception the command line turned
    into a message (or an abort)."""
    import json
    import re

    from click.testing import CliRunner

    import click

    import cli

    result = CliRunner().invoke(cli.cli, run_args(embedder, task, **fields), standalone_mode=False)
    exc = result.exception
    if exc is not None:
        if isinstance(exc, (click.ClickException, click.exceptions.Abort)) and exc.__context__ is not None:
            raise exc.__context__
        raise exc
    paths = re.findall(r"^(?:Run record|Already complete): (.+\.json)$", result.output, flags=re.M)
    assert paths, result.output
    return json.loads(Path(paths[-1]).read_text())


def invoke(*args) -> tuple[int, str]:
    """``bench ARGS`` in this process (click's runner, exceptions not caught): (exit code, output)."""
    from click.testing import CliRunner

    import cli

    result = CliRunner().invoke(cli.cli, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output
