"""Specs in, records out: the runner (split x seed), grids, layer sweeps, robustness runs, paper
reproduction and the executors (local, Ray). It returns records and prints nothing but progress;
rendering is the CLI's and ``report``'s. May import ``core`` to ``records``.
"""
