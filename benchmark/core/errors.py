"""User-facing errors. The CLI prints their message (no traceback) and exits with code 2."""


class BenchError(Exception):
    """An error the user can act on; the message says what to do next."""


class UnknownNameError(BenchError):
    """An embedder, task or protocol name that no registry knows."""


class AudioError(BenchError):
    """An audio file that is missing, unreadable or empty."""


class DataMissingError(BenchError):
    """A dataset folder, metadata file or protocol file that is not where it should be."""


class WeightsError(BenchError):
    """Pretrained weights that are missing, corrupt or do not fit the model."""


class EmbedderOutputError(BenchError):
    """An embedder returned the wrong shape, dtype, or non-finite values."""


class ChecksumError(BenchError):
    """A downloaded or supplied file whose checksum does not match the pinned one."""


class EmbedderFailedError(BenchError):
    """An exception raised inside an embedder's load() or embed(); the original is its __cause__."""
