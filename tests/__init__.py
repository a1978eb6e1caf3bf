"""bench's tests: a regular package, so that ``tests.helpers`` is this folder even where an installed
distribution (autorank, baycomp) ships a top-level ``tests`` package of its own."""
