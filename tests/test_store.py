import os

import numpy as np

from benchmark.embed.store import EmbeddingStore, clip_key
from benchmark.data.clips import Clip
from tests.helpers import tone, write_wav


def test_put_get_survives_reopening(tmp_path):
    clips = [Clip(id=f"c{i}", target=None, tags=("a", str(i))) for i in range(3)]
    store = EmbeddingStore(tmp_path, {"name": "x", "dim": 4})
    store.put_many([(c, np.full((i + 1, 4), i, np.float32)) for i, c in enumerate(clips)])
    reopened = EmbeddingStore(tmp_path, {"name": "x", "dim": 4})
    assert len(reopened) == 3
    assert reopened.get(clips[2]).shape == (3, 4) and float(reopened.get(clips[2])[0, 0]) == 2.0
    assert reopened.missing(clips + [Clip(id="new", target=None, tags=("z",))])[0].id == "new"


def test_key_changes_with_config_and_file_identity(tmp_path):
    path = write_wav(tmp_path / "a.wav", tone())
    clip = Clip(id="a", target=None, path=path)
    before = clip_key(clip)
    assert EmbeddingStore(tmp_path, {"w": 1}).key != EmbeddingStore(tmp_path, {"w": 2}).key
    write_wav(path, tone(freq=880))
    os.utime(path, ns=(1, 1))
    assert clip_key(clip) != before
    assert clip_key(Clip(id="a", target=None, path=path, offset=1.0)) != clip_key(clip)


def test_partial_shard_without_index_is_ignored(tmp_path):
    store = EmbeddingStore(tmp_path, {"name": "x"})
    (store.root / "shard-torn.npy").write_bytes(b"garbage")
    assert len(EmbeddingStore(tmp_path, {"name": "x"})) == 0
