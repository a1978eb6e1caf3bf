"""Commands that read run records: table, report, plot, compare."""
from __future__ import annotations

import click

from .base import UserError, cli, registries

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
    from benchmark.core.config import results_dir as default_results_dir
    from benchmark.report.render import render_fractions, render_table

    if robustness:
        from benchmark.report.robustness_table import render as render_robustness

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
    from benchmark.core.config import results_dir as default_results_dir
    from benchmark.report.render import write_site

    click.echo(f"Wrote {write_site(default_results_dir(results_dir), output)}")


@cli.command()
@click.option("-o", "--output", type=click.Path(file_okay=False), default=None, help="Folder of the figures (default: <results-dir>/figures).")
@click.option("--format", "-f", "fmt", type=click.Choice(["png", "svg"]), default="png", show_default=True)
@click.option("--kind", "-k", type=click.Choice(["all", "bars", "heatmap", "dim", "throughput", "layers", "fractions", "ranks"]),
              default="all", show_default=True,
              help="bars: per task with 95% CIs and reported values; heatmap: embedders x tasks; dim/throughput: score "
                   "against them; layers: score against layer (sweeps); fractions: score against training-set size.")
@click.option("--ranks", is_flag=True, help="Only the diagram of mean ranks across tasks (Friedman test, pairwise sign "
                                            "tests over tasks with Holm); same as --kind ranks.")
@click.option("--results-dir", type=click.Path(file_okay=False), help="Folder of run records (default: $BENCH_RESULTS_DIR or ./results).")
def plot(output, fmt, kind, ranks, results_dir):
    """Figures of the results (matplotlib).

    \b
    Example:
      bench plot --kind bars --format svg -o figures
    """
    from benchmark.core.config import results_dir as default_results_dir
    from benchmark.report.plots import write_plots

    root = default_results_dir(results_dir)
    for path in write_plots(root, output or root / "figures", fmt=fmt, kind="ranks" if ranks else kind):
        click.echo(f"Wrote {path}")
    if ranks:
        from benchmark.report.plots import plain_ranks
        from benchmark.stats.ranks import describe
        from benchmark.records.query import load_records

        click.echo(describe(plain_ranks(load_records(root))))


@cli.command()
@click.argument("embedders", nargs=-1, required=True)
@click.option("--task", "-t", required=True, help="Task the embedders were run on.")
@click.option("--metric", "-m", default=None, help="Metric to compare (default: the task's headline metric).")
@click.option("--protocol", "-p", default=None, help="Only runs with this protocol.")
@click.option("--results-dir", type=click.Path(file_okay=False), help="Folder of run records (default: $BENCH_RESULTS_DIR or ./results).")
def compare(embedders, task, metric, protocol, results_dir):
    """Paired test of A - B on their latest complete runs: a paired t over the per-fold means
    (seeds averaged), or on a one-split task a paired bootstrap over test clips; with more than
    two embedders, every pair, Holm-corrected.

    \b
    Example:
      bench compare coala mfcc --task us8k
      bench compare coala mfcc musicnn-mtat --task us8k
    """
    from benchmark.report.compare import compare as compare_runs
    from benchmark.core.config import results_dir as default_results_dir

    if len(embedders) < 2:
        raise UserError("Give at least two embedders to compare, e.g. 'bench compare coala mfcc --task us8k'.")
    if len(embedders) == 2:
        click.echo(compare_runs(default_results_dir(results_dir), task, embedders[0], embedders[1], metric, protocol,
                                registries()))
        return
    from benchmark.report.multicompare import compare_many, format_many

    click.echo(format_many(compare_many(default_results_dir(results_dir), task, embedders, metric, protocol,
                                          registries())))
