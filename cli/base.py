"""The ``bench`` group: errors as one-paragraph messages (exit 2), the registries, and the options
several commands share."""
from __future__ import annotations

import sys

import click

from benchmark.core.errors import BenchError


class UserError(click.ClickException):
    exit_code = 2


class Group(click.Group):
    """Turns BenchError into a one-paragraph message and exit code 2, without a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BenchError as exc:
            if ctx.find_root().params.get("debug"):
                import traceback

                traceback.print_exception(exc, file=sys.stderr)  # with the embedder's own exception as its cause
            raise UserError(str(exc)) from None


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="bench", prog_name="bench")
@click.option("--debug", is_flag=True, help="On an error, also print the full traceback (e.g. of a failing plugin).")
def cli(debug: bool) -> None:
    """bench: evaluate frozen audio embeddings with official folds, 10-seed probes and paper tables.

    \b
    Examples:
      bench run --embedder mfcc --task demo
      bench run --embedder coala --task us8k --data-home ~/datasets --jobs 2
      bench run --embedder path/to/my_model.py:MyEmbedder --task csv:my_data.csv
      bench list embedders
      bench table --format latex
    """
    from benchmark.core.notices import show_plainly

    show_plainly()


def registries():
    """The registries the engine resolves names with: built-ins, installed plugins, prefixes."""
    from benchmark.probe.protocols import PROTOCOLS
    from benchmark.core.registry import Registries
    from embedders import EMBEDDERS
    from tasks import TASKS

    return Registries(embedders=EMBEDDERS, tasks=TASKS, protocols=PROTOCOLS)


def parse_options(ctx, param, values) -> dict:
    """KEY=VALUE pairs; values that read as JSON (numbers, true/false) are converted."""
    import json

    parsed = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"'{item}' is not KEY=VALUE.")
        try:
            parsed[key] = json.loads(value)
        except ValueError:
            parsed[key] = value
    return parsed


def embedder_options(function):
    """--data-home, --cache-dir, --device, --weights, --jobs and --option."""
    for option in reversed([
        click.option("--data-home", type=click.Path(file_okay=False), help="Folder holding the datasets (default: $BENCH_DATA_HOME or ~/bench-data)."),
        click.option("--cache-dir", type=click.Path(file_okay=False), help="Embedding cache, generated and downloaded files (default: $BENCH_CACHE_DIR or ~/.cache/bench)."),
        click.option("--device", default=None, help="torch device (default: cuda when present, else cpu)."),
        click.option("--weights", type=click.Path(dir_okay=False), default=None, help="Checkpoint file for the embedder."),
        click.option("--jobs", type=int, default=1, show_default=True, help="Processes decoding audio in parallel."),
        click.option("--option", "options", multiple=True, callback=parse_options, metavar="KEY=VALUE",
                     help="Embedder option, repeatable (e.g. word2vec=model.bin for the tag encoders)."),
    ]):
        function = option(function)
    return function


def comma_names(ctx, param, values) -> tuple[str, ...]:
    """Repeatable option whose values may also be comma lists: -e a -e b,c → (a, b, c)."""
    return tuple(name.strip() for value in values for name in value.split(",") if name.strip())


def executor_options(function):
    """--executor, --address, --no-shared-cache and --threads: how runs are computed (benchmark.core.spec.RunEnv)."""
    for option in reversed([
        click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
                     help="local: this process; ray: a Ray cluster (pip install -e \".[ray]\")."),
        click.option("--address", default=None, help="Ray cluster address (default: start a local Ray on this machine)."),
        click.option("--no-shared-cache", is_flag=True,
                     help="Ray: the cache folder is not shared by all nodes; workers send embeddings back to this process."),
        click.option("--threads", type=click.IntRange(1), default=None,
                     help="Threads of torch and of the BLAS/OpenMP pools in every process (default: torch's default here); fixed so that executors agree bit for bit."),
    ]):
        function = option(function)
    return function
