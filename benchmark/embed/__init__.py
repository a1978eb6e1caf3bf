"""Embedders built, run and cached: building an embedder from a spec's names and options, plugin
checks, extraction in chunks, the content-addressed embedding store, layer views, the cache admin,
``bench embed`` and ``bench check-embedder``. May import ``core`` and ``data``.
"""
