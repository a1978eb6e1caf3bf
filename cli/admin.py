"""Commands that look after things: list, data check/download, check-embedder, cache."""
from __future__ import annotations

import sys

import click

from .base import Group, cli, registries

@cli.command(name="list")
@click.argument("what", type=click.Choice(["embedders", "tasks", "protocols"]))
@click.option("--data-home", type=click.Path(file_okay=False), help="Folder holding the datasets.")
def list_(what, data_home):
    """List embedders (dimension, sample rate), tasks (kind, split, data present) or protocols."""
    from tabulate import tabulate

    from benchmark.report import listing

    if what == "embedders":
        click.echo(tabulate(listing.embedder_rows(registries()), headers=["embedder", "dim", "sample rate", "input", "description"]))
    elif what == "tasks":
        click.echo(tabulate(listing.task_rows(registries(), data_home), headers=["task", "kind", "split", "metrics", "protocol", "data present"]))
    else:
        click.echo(tabulate(listing.protocol_rows(), headers=["protocol", "probe", "training", "validation", "pooling"]))


@cli.group(cls=Group)
def data() -> None:
    """Check or download the datasets of tasks."""


@data.command()
@click.argument("task")
@click.option("--data-home", type=click.Path(file_okay=False), help="Folder holding the datasets.")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Cache folder (protocol files).")
def check(task, data_home, cache_dir):
    """Report clips found and missing, split sizes and protocol files; exit 1 when incomplete."""
    from benchmark.data.datasets import check_task

    report = check_task(registries(), task, data_home, cache_dir)
    click.echo(report.format())
    sys.exit(0 if report.ok else 1)


@data.command()
@click.argument("task")
@click.option("--data-home", type=click.Path(file_okay=False), help="Folder holding the datasets.")
def download(task, data_home):
    """Download a task's data where a library can, or print the manual steps."""
    from benchmark.data.datasets import download_task

    click.echo(download_task(registries(), task, data_home))


@cli.command(name="check-embedder")
@click.argument("embedder")
@click.option("--weights", type=click.Path(dir_okay=False), default=None, help="Checkpoint file for the embedder.")
@click.option("--device", default=None, help="torch device (default: cuda when present, else cpu).")
def check_embedder(embedder, weights, device):
    """Run an embedder on generated 0.1/1/10/30 s audio (tag embedders: 1/3/10/30 tags): shape, dim,
    dtype, determinism, batch independence, NaN/inf, speed.

    \b
    Example:
      bench check-embedder path/to/my_model.py:MyEmbedder
    """
    from benchmark.embed.check_embedder import check_embedder as run_checks

    report = run_checks(embedder, weights=weights, device=device, registries=registries())
    click.echo(report.format())
    sys.exit(0 if report.ok else 1)


@cli.group(cls=Group)
def cache() -> None:
    """See, check and reclaim the embedding cache (--cache-dir, $BENCH_CACHE_DIR or ~/.cache/bench)."""


_cache_dir_option = click.option("--cache-dir", type=click.Path(file_okay=False),
                                 help="Cache folder (default: $BENCH_CACHE_DIR or ~/.cache/bench).")


@cache.command(name="list")
@_cache_dir_option
@click.option("--results-dir", type=click.Path(file_okay=False),
              help="Run records whose embedders are shown as 'used by' (default: $BENCH_RESULTS_DIR or ./results).")
def cache_list(cache_dir, results_dir):
    """Size per embedder folder, the runs' embedders that used it, and what it was keyed on
    (embedder config, deformation, bench version)."""
    from benchmark.embed import cache_admin
    from benchmark.core import config

    click.echo(cache_admin.format_list(config.cache_dir(cache_dir), config.results_dir(results_dir)), nl=False)


@cache.command()
@_cache_dir_option
def verify(cache_dir):
    """Check every shard's size and sha256 against its index; exit 1 when one is damaged."""
    from benchmark.embed import cache_admin
    from benchmark.core import config

    report = cache_admin.verify(config.cache_dir(cache_dir))
    click.echo(report.format(), nl=False)
    sys.exit(0 if report.ok else 1)


@cache.command()
@_cache_dir_option
@click.option("--embedder", "-e", "embedders", multiple=True, help="Also remove every folder of this embedder (repeatable).")
@click.option("--dry-run", is_flag=True, help="Only show what would be removed.")
@click.option("--yes", "-y", is_flag=True, help="Remove without asking.")
def prune(cache_dir, embedders, dry_run, yes):
    """Remove what this bench can no longer use: folders of other bench versions or of embedder
    code that has moved on, damaged shards, stale temporary files (and --embedder's folders).

    \b
    Examples:
      bench cache prune --dry-run
      bench cache prune --embedder my-old-model --yes
    """
    from benchmark.embed import cache_admin
    from benchmark.core import config

    candidates = cache_admin.prune_candidates(config.cache_dir(cache_dir), embedders)
    click.echo(cache_admin.format_candidates(candidates), nl=False)
    if not candidates or dry_run:
        return
    try:
        confirmed = yes or click.confirm("Remove them?", default=False)
    except click.Abort:  # no terminal to answer on
        confirmed = False
    if not confirmed:
        click.echo("Nothing removed (pass --yes to remove without asking).")
        return
    click.echo(f"Freed {cache_admin.human_size(cache_admin.remove(candidates))}.")
