"""Functions on scores and predictions: summaries and confidence intervals (over folds, or a
bootstrap over test clips), paired tests, the paired bootstrap, Holm's correction, and ranks across
tasks (Friedman ranks, the Iman-Davenport omnibus, Holm-corrected sign tests, shared ranks). The
only I/O is reading a record's stored test predictions (``probe.predictions``). May import
``core`` to ``probe`` (metric ranges, stored predictions).
"""
