"""Commands that compute: run (a cell, a grid, a sweep, fractions, deformations), reproduce, embed."""
from __future__ import annotations

import sys

import click

from .base import cli, comma_names, embedder_options, executor_options, registries

@cli.command()
@click.option("--embedder", "-e", "embedders", multiple=True, required=True, callback=comma_names,
              help="Embedder name, 'module:Class' or 'path/to/file.py:Class'. Repeat it (or give a comma list) for a grid.")
@click.option("--task", "-t", "tasks", multiple=True, required=True, callback=comma_names,
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
@embedder_options
@executor_options
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
    from benchmark.run.launch import plan
    from benchmark.core.spec import grid

    env = _env(device, jobs, data_home, cache_dir, results_dir, executor, address, no_shared_cache, threads)
    specs = grid(embedders, tasks, protocol=protocol, seeds=seeds, options=options, weights=weights,
                 fast_matmul=fast_matmul, skip_missing=skip_missing, layer=layer, deform_train=deform_train)
    specs = plan(specs, registries(), env, layer_set, train_fraction, train_per_class, deforms)
    _launch(specs, env, table="layers" if layer_set is not None else "grid")


def _env(device, jobs, data_home, cache_dir, results_dir, executor, address, no_shared_cache, threads):
    """The RunEnv of the options that say how runs are computed (recorded, not part of the run key)."""
    from benchmark.core.spec import RunEnv

    return RunEnv(threads=threads, device=device, jobs=jobs, executor=executor, address=address,
                  shared_cache=not no_shared_cache, data_home=data_home, cache_dir=cache_dir, results_dir=results_dir)


def _launch(specs, env, table) -> None:
    """Every way of starting runs ends here (benchmark.run.launch); a grid with a failed cell exits 1."""
    from benchmark.run.launch import launch
    from benchmark.report.runs import launch_text

    # progress: tqdm bars on a terminal, a line every so often without one (benchmark.core.progress)
    launched = launch(specs, registries(), env, progress=True, echo=click.echo)
    click.echo(launch_text(launched.outcomes, env.results_dir, table), nl=False)
    if len(launched.outcomes) > 1:
        sys.exit(1 if launched.failed else 0)


@cli.command()
@click.argument("paper", type=click.Choice(["coala", "contextual", "mulap"]))
@click.option("--dry-run", is_flag=True, help="List the cells and what each needs (data, weights); run and download nothing.")
@click.option("--seeds", type=click.IntRange(1), default=10, show_default=True, help="Probe seeds per split.")
@click.option("--results-dir", type=click.Path(file_okay=False), help="Where run records go (default: $BENCH_RESULTS_DIR or ./results).")
@click.option("--skip-missing", is_flag=True, help="Go on without missing or unreadable clips (they are recorded).")
@embedder_options
@executor_options
def reproduce(paper, dry_run, seeds, results_dir, skip_missing, data_home, cache_dir, device, weights, jobs, options,
              executor, address, no_shared_cache, threads):
    """Run every cell of a paper's table(s) as one grid, then print the table beside the published numbers.
    --weights EMBEDDER=PATH gives one embedder's cells a checkpoint (a bare PATH where the paper
    has one embedder); the other cells keep their published weights.

    \b
    Examples:
      bench reproduce coala --dry-run
      bench reproduce coala --weights coala-ec=my_coala_ec.pt
      bench reproduce mulap --weights best_model.pth.tar
    """
    from benchmark.run import reproduce as paper_grid
    from benchmark.report.runs import paper_table_text

    env = _env(device, jobs, data_home, cache_dir, results_dir, executor, address, no_shared_cache, threads)
    common = dict(seeds=seeds, options=options, weights=weights, skip_missing=skip_missing)
    if dry_run:
        click.echo(paper_grid.dry_run(paper, registries(), env, **common))
        return
    try:
        _launch(paper_grid.paper_specs(paper, **common), env, table=None)
    finally:  # the paper's table also after failed cells: what finished, beside the published numbers
        click.echo(paper_table_text(paper, results_dir), nl=False)
        click.echo(f"The table again, in any format: bench table --paper {paper}")


@cli.command()
@click.option("--embedder", "-e", required=True, help="Embedder name or spec.")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help=".npz (keys <stem>.embedding, <stem>.frames) or .npy.")
@click.option("--frames", is_flag=True, help="Also write per-frame embeddings (default: one mean vector per clip).")
@embedder_options
def embed(embedder, files, output, frames, data_home, cache_dir, device, weights, jobs, options):
    """Embed arbitrary audio files.

    \b
    Example:
      bench embed --embedder mfcc a.wav b.mp3 -o embeddings.npz --frames
    """
    from benchmark.embed.embed_files import embed_files

    path = embed_files(registries(), embedder, files, output, frames=frames, weights=weights, device=device, cache_dir=cache_dir,
                       jobs=jobs, progress=True, embedder_options=options)
    click.echo(f"Wrote {path}")
