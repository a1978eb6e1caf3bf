"""Pure functions on scores and predictions: summaries and confidence intervals, paired tests,
Friedman ranks and the Nemenyi critical difference. No I/O. May import ``core`` to ``probe`` (metric
ranges).
"""
