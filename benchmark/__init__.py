"""bench: a benchmark harness for frozen audio embeddings."""

__version__ = "0.1.0"
