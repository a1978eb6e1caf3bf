"""Command line of bench. Thin: parses options and calls functions of ``benchmark``."""
from __future__ import annotations

import sys

import click

from benchmark.errors import BenchError


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
    from benchmark.notices import show_plainly

    show_plainly()


def registries():
    """The registries the engine resolves names with: built-ins, installed plugins, prefixes."""
    from benchmark.protocols import PROTOCOLS
    from benchmark.registry import Registries
    from embedders import EMBEDDERS
    from tasks import TASKS

    return Registries(embedders=EMBEDDERS, tasks=TASKS, protocols=PROTOCOLS)


def _parse_options(ctx, param, values) -> dict:
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


def _options(function):
    for option in reversed([
        click.option("--data-home", type=click.Path(file_okay=False), help="Folder holding the datasets (default: $BENCH_DATA_HOME or ~/bench-data)."),
        click.option("--cache-dir", type=click.Path(file_okay=False), help="Embedding cache, generated and downloaded files (default: $BENCH_CACHE_DIR or ~/.cache/bench)."),
        click.option("--device", default=None, help="torch device (default: cuda when present, else cpu)."),
        click.option("--weights", type=click.Path(dir_okay=False), default=None, help="Checkpoint file for the embedder."),
        click.option("--jobs", type=int, default=1, show_default=True, help="Processes decoding audio in parallel."),
        click.option("--option", "options", multiple=True, callback=_parse_options, metavar="KEY=VALUE",
                     help="Embedder option, repeatable (e.g. word2vec=model.bin for the tag encoders)."),
    ]):
        function = option(function)
    return function


def _names(ctx, param, values) -> tuple[str, ...]:
    """Repeatable option whose values may also be comma lists: -e a -e b,c → (a, b, c)."""
    return tuple(name.strip() for value in values for name in value.split(",") if name.strip())


def _executor_options(function):
    for option in reversed([
        click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
                     help="local: this process; ray: a Ray cluster (pip install -e \".[ray]\")."),
        click.option("--address", default=None, help="Ray cluster address (default: start a local Ray on this machine)."),
        click.option("--no-shared-cache", is_flag=True,
                     help="Ray: the cache folder is not shared by all nodes; workers send embeddings back to this process."),
        click.option("--threads", type=click.IntRange(1), default=None,
                     help="torch threads in every process (default: torch's default here); fixed so that executors agree bit for bit."),
    ]):
        function = option(function)
    return function


@cli.command()
@click.option("--embedder", "-e", "embedders", multiple=True, required=True, callback=_names,
              help="Embedder name, 'module:Class' or 'path/to/file.py:Class'. Repeat it (or give a comma list) for a grid.")
@click.option("--task", "-t", "tasks", multiple=True, required=True, callback=_names,
              help="Task name, or csv:PATH for your own dataset. Repeat it (or give a comma list) for a grid.")
@click.option("--protocol", "-p", default=None, help="Probe protocol (default: the task's own; see 'bench list protocols').")
@click.option("--seeds", type=click.IntRange(1), default=10, show_default=True, help="Probe seeds per split.")
@click.option("--results-dir", type=click.Path(file_okay=False), help="Where run records go (default: $BENCH_RESULTS_DIR or ./results).")
@click.option("--skip-missing", is_flag=True, help="Go on without missing or unreadable clips (they are recorded).")
@click.option("--layer", type=int, default=None,
              help="Probe this layer of an embedder with layers (hf:…); negative counts from the end (default: the last).")
@click.option("--layers", "layer_set", default=None, metavar="all|A-B|A,B,C",
              help="Layer sweep: one extraction, one probe run per layer (records named <embedder>@<layer>).")
@click.option("--fast-matmul", is_flag=True,
              help="Probe matrix products with bfloat16 inputs (CPUs with AVX512-BF16/AMX) or TF32 (CUDA): "
                   "faster, close to but not step-for-step equal to float32; recorded in the protocol.")
@click.option("--train-fraction", default=None, metavar="F[,F...]",
              help="Train on a seeded, class-stratified, nested share of each training set (e.g. 0.01,0.1,1); "
                   "one run record per fraction.")
@click.option("--train-per-class", default=None, metavar="N[,N...]",
              help="Train on N seeded clips per class (e.g. 1,5,10); one run record per N.")
@click.option("--deform", "deforms", multiple=True, metavar="NAME:PARAM=VALUE",
              help="Test on deformed audio, repeatable, one run record each: noise:snr=10[,color=pink], gain:db=-6, "
                   "lowpass:cutoff=4000, mp3:bitrate=32, clip:percentile=10, reverb:rt60=0.5, pitch:semitones=2.")
@click.option("--deform-train", is_flag=True, help="Deform the training clips too (default: the test clips only).")
@_options
@_executor_options
def run(embedders, tasks, protocol, seeds, results_dir, skip_missing, layer, layer_set, fast_matmul, train_fraction,
        train_per_class, deforms, deform_train, data_home,
        cache_dir, device, weights, jobs, options, executor, address, no_shared_cache, threads):
    """Embed a task's clips (cached) and train the probes over its official splits. Several -e/-t
    make a grid: every (embedder, task) cell is one run; a failing cell does not stop the others.

    \b
    Examples:
      bench run --embedder mfcc --task demo
      bench run -e musicnn-mtat -t mtat --protocol mulap --weights best_model.pth
      bench run -e hf:facebook/wav2vec2-base -t us8k --layers all
      bench run -e mfcc -e coala -e coala-ec -t us8k,gtzan,nsynth
      bench run -e mfcc -t demo --executor ray --address 10.0.0.5:6379
    """
    from benchmark.launch import plan
    from benchmark.spec import grid

    env = _env(device, jobs, data_home, cache_dir, results_dir, executor, address, no_shared_cache, threads)
    specs = grid(embedders, tasks, protocol=protocol, seeds=seeds, options=options, weights=weights,
                 fast_matmul=fast_matmul, skip_missing=skip_missing, layer=layer, deform_train=deform_train)
    specs = plan(specs, registries(), env, layer_set, train_fraction, train_per_class, deforms)
    _launch(specs, env, table="layers" if layer_set is not None else "grid")


def _env(device, jobs, data_home, cache_dir, results_dir, executor, address, no_shared_cache, threads):
    """The RunEnv of the options that say how runs are computed (recorded, not part of the run key)."""
    from benchmark.spec import RunEnv

    return RunEnv(threads=threads, device=device, jobs=jobs, executor=executor, address=address,
                  shared_cache=not no_shared_cache, data_home=data_home, cache_dir=cache_dir, results_dir=results_dir)


def _launch(specs, env, table) -> None:
    """Every way of starting runs ends here (benchmark.launch); a grid with a failed cell exits 1."""
    from benchmark.launch import launch

    # progress: tqdm bars on a terminal, a line every so often without one (benchmark.progress)
    launched = launch(specs, registries(), env, progress=True, echo=click.echo, table=table)
    click.echo(launched.text, nl=False)
    if len(launched.outcomes) > 1:
        sys.exit(1 if launched.failed else 0)


@cli.command()
@click.argument("paper", type=click.Choice(["coala", "contextual", "mulap"]))
@click.option("--dry-run", is_flag=True, help="List the cells and what each needs (data, weights); run and download nothing.")
@click.option("--seeds", type=click.IntRange(1), default=10, show_default=True, help="Probe seeds per split.")
@click.option("--results-dir", type=click.Path(file_okay=False), help="Where run records go (default: $BENCH_RESULTS_DIR or ./results).")
@click.option("--skip-missing", is_flag=True, help="Go on without missing or unreadable clips (they are recorded).")
@_options
@_executor_options
def reproduce(paper, dry_run, seeds, results_dir, skip_missing, data_home, cache_dir, device, weights, jobs, options,
              executor, address, no_shared_cache, threads):
    """Run every cell of a paper's table(s) as one grid, then print the table beside the published numbers.

    \b
    Examples:
      bench reproduce coala --dry-run
      bench reproduce mulap --weights best_model.pth.tar
    """
    from benchmark import reproduce as paper_grid

    env = _env(device, jobs, data_home, cache_dir, results_dir, executor, address, no_shared_cache, threads)
    common = dict(seeds=seeds, options=options, weights=weights, skip_missing=skip_missing)
    if dry_run:
        click.echo(paper_grid.dry_run(paper, registries(), env, **common))
        return
    try:
        _launch(paper_grid.paper_specs(paper, **common), env, table=None)
    finally:  # the paper's table also after failed cells: what finished, beside the published numbers
        click.echo(paper_grid.paper_table_text(paper, results_dir), nl=False)
        click.echo(f"The table again, in any format: bench table --paper {paper}")


@cli.command(name="list")
@click.argument("what", type=click.Choice(["embedders", "tasks", "protocols"]))
@click.option("--data-home", type=click.Path(file_okay=False), help="Folder holding the datasets.")
def list_(what, data_home):
    """List embedders (dimension, sample rate), tasks (kind, split, data present) or protocols."""
    from tabulate import tabulate

    from benchmark import listing

    if what == "embedders":
        click.echo(tabulate(listing.embedder_rows(registries()), headers=["embedder", "dim", "sample rate", "input", "description"]))
    elif what == "tasks":
        click.echo(tabulate(listing.task_rows(registries(), data_home), headers=["task", "kind", "split", "metrics", "protocol", "data present"]))
    else:
        click.echo(tabulate(listing.protocol_rows(), headers=["protocol", "probe", "training", "validation", "pooling"]))


@cli.command()
@click.option("--embedder", "-e", required=True, help="Embedder name or spec.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help=".npz (keys <stem>.embedding, <stem>.frames) or .npy.")
@click.option("--frames", is_flag=True, help="Also write per-frame embeddings (default: one mean vector per clip).")
@_options
def embed(embedder, files, output, frames, data_home, cache_dir, device, weights, jobs, options):
    """Embed arbitrary audio files.

    \b
    Example:
      bench embed --embedder mfcc a.wav b.mp3 -o embeddings.npz --frames
    """
    from benchmark.embed_files import embed_files

    path = embed_files(registries(), embedder, files, output, frames=frames, weights=weights, device=device, cache_dir=cache_dir,
                       jobs=jobs, progress=True, embedder_options=options)
    click.echo(f"Wrote {path}")


@cli.group(cls=Group)
def data() -> None:
    """Check or download the datasets of tasks."""


@data.command()
@click.argument("task")
@click.option("--data-home", type=click.Path(file_okay=False), help="Folder holding the datasets.")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Cache folder (protocol files).")
def check(task, data_home, cache_dir):
    """Report clips found and missing, split sizes and protocol files; exit 1 when incomplete."""
    from benchmark.datasets import check_task

    report = check_task(registries(), task, data_home, cache_dir)
    click.echo(report.format())
    sys.exit(0 if report.ok else 1)


@data.command()
@click.argument("task")
@click.option("--data-home", type=click.Path(file_okay=False), help="Folder holding the datasets.")
def download(task, data_home):
    """Download a task's data where a library can, or print the manual steps."""
    from benchmark.datasets import download_task

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
    from benchmark.check import check_embedder as run_checks

    report = run_checks(embedder, weights=weights, device=device, registries=registries())
    click.echo(report.format())
    sys.exit(0 if report.ok else 1)


@cli.command()
@click.option("--paper", type=click.Choice(["coala", "contextual", "mulap", "mulap-1", "mulap-2"]), default=None,
              help="Lay the table out as the paper's, with its published numbers as 'reported' rows.")
@click.option("--format", "-f", "fmt", type=click.Choice(["markdown", "latex", "csv", "json", "html"]),
              default="markdown", show_default=True, help="latex is a standalone document (booktabs).")
@click.option("--task", "-t", "tasks", multiple=True, help="Only these tasks (repeat the option).")
@click.option("--embedder", "-e", "embedders", multiple=True, help="Only these embedders (repeat the option).")
@click.option("--all-metrics", is_flag=True, help="One column per metric instead of the headline metric only.")
@click.option("--layers", is_flag=True, help="The task x layer table of layer sweeps (runs of --layer/--layers).")
@click.option("--results-dir", type=click.Path(file_okay=False), help="Folder of run records (default: $BENCH_RESULTS_DIR or ./results).")
@click.option("--fractions", is_flag=True, help="Label-efficiency tables: score by training-set size (--train-fraction runs).")
@click.option("--robustness", is_flag=True, help="Clean score, deformed score and the drop with a paired 95% CI (--deform runs).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="Write to this file instead of the terminal.")
def table(paper, fmt, tasks, embedders, all_metrics, layers, results_dir, fractions, robustness, output):
    """Leaderboard from the run records: mean ± std (seeds), best in bold, average and rank.

    \b
    Examples:
      bench table
      bench table --task us8k --task gtzan --embedder mfcc --embedder coala
      bench table --paper contextual --format latex -o table1.tex
      bench table --robustness
    """
    from benchmark.config import results_dir as default_results_dir
    from benchmark.report import render_fractions, render_table

    if robustness:
        from benchmark.robustness import render as render_robustness

        text = render_robustness(default_results_dir(results_dir), fmt, tasks=tasks, embedders=embedders)
    elif fractions:
        text = render_fractions(default_results_dir(results_dir), fmt, tasks=tasks, embedders=embedders)
    else:
        text = render_table(default_results_dir(results_dir), fmt, tasks=tasks, embedders=embedders, paper=paper,
                            all_metrics=all_metrics, layers=layers)
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
        click.echo(f"Wrote {output}")
    else:
        click.echo(text, nl=False)


@cli.command()
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help="Folder of the site.")
@click.option("--results-dir", type=click.Path(file_okay=False), help="Folder of run records (default: $BENCH_RESULTS_DIR or ./results).")
def report(output, results_dir):
    """Write a static HTML site: every table and figure, per-task pages, run details. No server needed.

    \b
    Example:
      bench report -o site && xdg-open site/index.html
    """
    from benchmark.config import results_dir as default_results_dir
    from benchmark.report import write_site

    click.echo(f"Wrote {write_site(default_results_dir(results_dir), output)}")


@cli.command()
@click.option("-o", "--output", type=click.Path(file_okay=False), default=None, help="Folder of the figures (default: <results-dir>/figures).")
@click.option("--format", "-f", "fmt", type=click.Choice(["png", "svg"]), default="png", show_default=True)
@click.option("--kind", "-k", type=click.Choice(["all", "bars", "heatmap", "dim", "throughput", "layers", "fractions", "ranks"]),
              default="all", show_default=True,
              help="bars: per task with 95% CIs and reported values; heatmap: embedders x tasks; dim/throughput: score "
                   "against them; layers: score against layer (sweeps); fractions: score against training-set size.")
@click.option("--ranks", is_flag=True, help="Only the critical-difference diagram of average ranks across tasks "
                                            "(Friedman test, Nemenyi CD); same as --kind ranks.")
@click.option("--results-dir", type=click.Path(file_okay=False), help="Folder of run records (default: $BENCH_RESULTS_DIR or ./results).")
def plot(output, fmt, kind, ranks, results_dir):
    """Figures of the results (matplotlib).

    \b
    Example:
      bench plot --kind bars --format svg -o figures
    """
    from benchmark.config import results_dir as default_results_dir
    from benchmark.plots import write_plots

    root = default_results_dir(results_dir)
    for path in write_plots(root, output or root / "figures", fmt=fmt, kind="ranks" if ranks else kind):
        click.echo(f"Wrote {path}")
    if ranks:
        from benchmark.ranks import describe, from_records
        from benchmark.report import load_records

        click.echo(describe(from_records(load_records(root))))


@cli.command()
@click.argument("embedders", nargs=-1, required=True)
@click.option("--task", "-t", required=True, help="Task the embedders were run on.")
@click.option("--metric", "-m", default=None, help="Metric to compare (default: the task's headline metric).")
@click.option("--protocol", "-p", default=None, help="Only runs with this protocol.")
@click.option("--results-dir", type=click.Path(file_okay=False), help="Folder of run records (default: $BENCH_RESULTS_DIR or ./results).")
def compare(embedders, task, metric, protocol, results_dir):
    """Paired test of A - B on the matching (split, seed) scores of their latest complete runs;
    with more than two embedders, every pair, Holm-corrected.

    \b
    Example:
      bench compare coala mfcc --task us8k
      bench compare coala mfcc musicnn-mtat --task us8k
    """
    from benchmark.compare import compare as compare_runs
    from benchmark.config import results_dir as default_results_dir

    if len(embedders) < 2:
        raise UserError("Give at least two embedders to compare, e.g. 'bench compare coala mfcc --task us8k'.")
    if len(embedders) == 2:
        click.echo(compare_runs(default_results_dir(results_dir), task, embedders[0], embedders[1], metric, protocol,
                                registries()))
        return
    from benchmark.multicompare import compare_many, format_many

    click.echo(format_many(compare_many(default_results_dir(results_dir), task, embedders, metric, protocol,
                                          registries())))


@cli.group(cls=Group)
def cache() -> None:
    """See, check and reclaim the embedding cache (--cache-dir, $BENCH_CACHE_DIR or ~/.cache/bench)."""


_cache_dir_option = click.option("--cache-dir", type=click.Path(file_okay=False),
                                 help="Cache folder (default: $BENCH_CACHE_DIR or ~/.cache/bench).")


@cache.command(name="list")
@_cache_dir_option
def cache_list(cache_dir):
    """Size per embedder folder and what it was keyed on (embedder config, bench version)."""
    from benchmark import cache_admin, config

    click.echo(cache_admin.format_list(config.cache_dir(cache_dir)), nl=False)


@cache.command()
@_cache_dir_option
def verify(cache_dir):
    """Check every shard's size and sha256 against its index; exit 1 when one is damaged."""
    from benchmark import cache_admin, config

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
    from benchmark import cache_admin, config

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


def main() -> None:
    cli(prog_name="bench")


if __name__ == "__main__":
    main()
