"""bench: a benchmark harness for frozen audio embeddings."""

__version__ = "0.2.0"
