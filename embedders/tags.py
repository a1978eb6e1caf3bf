"""Contextual tag encoders of Favory et al., ICASSP 2021 (xavierfav/ae-w2v-attention).

A sound's tags -> word2vec vectors -> multi-head self-attention (or a mean) -> linear -> LayerNorm.
The modules reproduce ``TagMeanEncoder`` / ``TagSelfAttentionEncoder`` of the authors'
``models_t1000_att.py`` in eval mode, with the input of their ``encode_tags.py``: the first ten
tags, padded with the zero row to ten positions.

Why the word vectors go through gensim KeyedVectors rather than an ``nn.Embedding`` lookup: a
user's own word2vec model (option ``word2vec=PATH``, same vector size) can then embed tags outside
the 1000-tag vocabulary. Tags in the vocabulary always use the checkpoint's own table (the one the
encoder was trained with); without a word2vec model, unknown tags are dropped and counted
(``unknown_tags``, reported by ``notes()``).
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from benchmark.core.errors import BenchError, WeightsError
from benchmark.data.fetch import sha256_of

from .base import Embedder
from .weights import load_state_dict_strict, resolve_weights

MAX_TAGS = 10  # encode_tags.py: the first ten tag ids, zero-padded to ten
REPO = "https://github.com/xavierfav/ae-w2v-attention/raw/main"
VOCAB_URL = "https://raw.githubusercontent.com/xavierfav/coala/master/id2token_top_1000.json"
VOCAB_SHA256 = "e3f9c0f73af2fc19762b52764138fa76822ca437e2856313193a6a1ee9680771"


def _build_net(heads: int, d_model: int, vocab_rows: int) -> Any:
    """The authors' tag encoder (same parameter names, so their checkpoints load strictly)."""
    import torch
    from torch import nn

    class TagEncoderNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.heads = heads
            self.embeddings = nn.Embedding(vocab_rows, d_model)  # frozen word2vec table
            if heads:
                self.w_qs = nn.Linear(d_model, heads * d_model, bias=False)
                self.w_ks = nn.Linear(d_model, heads * d_model, bias=False)
                self.w_vs = nn.Linear(d_model, heads * d_model, bias=False)
                self.fc = nn.Linear(heads * d_model, d_model, bias=False)
            else:
                self.fc = nn.Linear(d_model, d_model, bias=False)
            self.layer_norm = nn.LayerNorm(d_model, eps=1e-6)

        def forward(self, x: "torch.Tensor", mask: "torch.Tensor") -> "torch.Tensor":
            """x: (B, 10, d) word vectors, padding rows = table row 0; mask: (B, 10) real tags."""
            if not self.heads:
                # TagMeanEncoder: sum over all ten positions times 1/n_tags (the padding row is 0)
                q = self.fc(x).sum(1)
                inv = 1 / mask.sum(-1, keepdim=True).float()
                return self.layer_norm(q * torch.repeat_interleave(inv, repeats=d_model, dim=-1))
            b, n = x.shape[0], x.shape[1]
            q = self.w_qs(x).view(b, n, heads, d_model).transpose(1, 2)
            k = self.w_ks(x).view(b, n, heads, d_model).transpose(1, 2)
            v = self.w_vs(x).view(b, n, heads, d_model).transpose(1, 2)
            attn = torch.matmul(q / d_model ** 0.5, k.transpose(2, 3))
            # only keys are masked: padding queries still attend to the real tags and, as in the
            # authors' code, their outputs are part of the sum below
            attn = attn.masked_fill(mask[:, None, None, :] == 0, -1e9)
            out = torch.matmul(torch.softmax(attn, dim=-1), v)
            out = self.fc(out.transpose(1, 2).contiguous().view(b, n, -1))
            return self.layer_norm(out.sum(1))

    return TagEncoderNet()


def load_word2vec(path: str | Path) -> Any:
    """A gensim KeyedVectors from a saved KeyedVectors/Word2Vec model or a word2vec .bin/.txt file."""
    from gensim.models import KeyedVectors
    from gensim.utils import SaveLoad

    path = Path(path).expanduser()
    if not path.is_file():
        raise BenchError(f"word2vec model not found: {path}. Give word2vec=PATH to a gensim model or word2vec file.")
    try:
        if path.suffix in (".bin", ".txt", ".vec"):
            return KeyedVectors.load_word2vec_format(str(path), binary=path.suffix == ".bin")
        model = SaveLoad.load(str(path))
    except Exception as exc:  # gensim raises many kinds of errors on bad files
        raise BenchError(f"Cannot read the word2vec model {path}: {exc}. Save it with gensim "
                         "(KeyedVectors.save / Word2Vec.save) or in word2vec .bin/.txt format.") from None
    vectors = getattr(model, "wv", model)
    if not isinstance(vectors, KeyedVectors):
        raise BenchError(f"{path} holds a {type(model).__name__}, not gensim KeyedVectors or a Word2Vec model.")
    return vectors


class TagEncoder(Embedder):
    """Contextual tag encoder (ae-w2v-attention)."""

    input_kind = "tags"
    batch_size = 256
    version = "1"
    #: folder of the variant in the authors' saved_models/
    variant: str = ""
    heads: int = 0  # 0 = mean encoder
    dim: int = 128
    #: public address and sha256 of the checkpoint, where published
    url: str | None = None
    sha256: str | None = None

    accepted_options = {"vocab": "tag vocabulary JSON, id -> tag", "word2vec": "word2vec model file for tag lookup"}

    def __init__(self, weights: str | None = None, device: str | None = None, **options: Any) -> None:
        super().__init__(weights=weights, device=device, **options)
        self.unknown_tags: Counter[str] = Counter()  # dropped tags, for the RunRecord
        self.sounds_without_known_tags = 0
        self.sounds_embedded = 0  # by this process: cached embeddings are not re-counted
        self._files: dict[str, Path] | None = None

    # -- files -------------------------------------------------------------------------------
    def files(self) -> dict[str, Path]:
        """Checkpoint, vocabulary and (optional) user word2vec model, resolved once."""
        if self._files is None:
            files = {
                "weights": resolve_weights(self.weights, f"ae-w2v-attention/{self.variant}/tag_encoder_att_epoch_200.pt",
                                           self.url, self.sha256, cache=self.cache_dir),
                "vocab": resolve_weights(self.options.get("vocab"), "coala/id2token_top_1000.json", VOCAB_URL,
                                         VOCAB_SHA256 if not self.options.get("vocab") else None, cache=self.cache_dir),
            }
            if self.options.get("word2vec"):
                files["word2vec"] = Path(self.options["word2vec"]).expanduser()
            self._files = files
        return self._files

    def load(self) -> None:
        import torch
        from gensim.models import KeyedVectors

        files = self.files()
        try:
            state = torch.load(files["weights"], map_location="cpu", weights_only=True)
        except Exception as exc:
            raise WeightsError(f"Cannot read the checkpoint {files['weights']}: {exc}. Download it again.") from None
        table = state.get("embeddings.weight")
        if table is None or table.shape[1] != self.dim:
            raise WeightsError(f"{files['weights']} is not a {self.dim}-d tag encoder checkpoint "
                               f"(embeddings.weight: {None if table is None else tuple(table.shape)}).")
        net = _build_net(self.heads, self.dim, table.shape[0])
        load_state_dict_strict(net, state, files["weights"])
        self.net = net.to(self.device).eval()

        id2token = json.loads(Path(files["vocab"]).read_text())
        if len(id2token) + 1 != table.shape[0]:
            raise WeightsError(f"The vocabulary {files['vocab']} has {len(id2token)} tags but the checkpoint's table "
                               f"has {table.shape[0]} rows (1 padding + one per tag).")
        # token of multi-hot position i is row i + 1 of the table (row 0 = padding)
        self.vectors = KeyedVectors(vector_size=self.dim)
        self.vectors.add_vectors([id2token[str(i)] for i in range(len(id2token))], table[1:].numpy())
        self.pad_vector = table[0].numpy()
        self.user_vectors = None
        if "word2vec" in files:
            self.user_vectors = load_word2vec(files["word2vec"])
            if self.user_vectors.vector_size != self.dim:
                raise BenchError(f"The word2vec model {files['word2vec']} has {self.user_vectors.vector_size}-d "
                                 f"vectors; {self.name or type(self).__name__} needs {self.dim}-d vectors.")

    # -- the work ----------------------------------------------------------------------------
    def lookup(self, tag: str) -> np.ndarray | None:
        """The tag's word vector: the encoder's own vocabulary first, then the user's word2vec model."""
        for source in (self.vectors, self.user_vectors):
            if source is not None:
                for key in (tag, tag.lower()):
                    if key in source.key_to_index:
                        return source[key]
        return None

    def embed(self, batch: Sequence[Sequence[str] | str]) -> list[np.ndarray]:
        import torch

        self.ensure_loaded()
        x = np.tile(self.pad_vector.astype(np.float32), (len(batch), MAX_TAGS, 1))
        mask = np.zeros((len(batch), MAX_TAGS), dtype=bool)
        for row, tags in enumerate(batch):
            if isinstance(tags, str):  # "dog bark street" from a CSV column
                tags = tags.split()
            used = 0
            for tag in tags:
                vector = self.lookup(str(tag))
                if vector is None:
                    self.unknown_tags[str(tag)] += 1
                elif used < MAX_TAGS:
                    x[row, used], mask[row, used] = vector, True
                    used += 1
        self.sounds_embedded += len(batch)
        empty = ~mask.any(axis=1)
        self.sounds_without_known_tags += int(empty.sum())
        with torch.inference_mode():
            out = self.net(torch.from_numpy(x).to(self.device), torch.from_numpy(mask).to(self.device))
            if empty.any():  # no usable tag: the encoder's output for an all-zero input (LayerNorm bias)
                zero = self.net.layer_norm(torch.zeros(1, self.dim, device=self.device))
                out[torch.from_numpy(empty).to(self.device)] = zero
        out = out.float().cpu().numpy()
        return [out[i : i + 1] for i in range(len(batch))]

    def notes(self, inputs: Sequence[Sequence[str] | str] | None = None) -> dict[str, Any]:
        """Counts for the RunRecord: tags dropped as unknown and sounds left with no known tag.
        Given ``inputs`` (every tag list of the task), they are counted over those, so cached
        embeddings are counted too; otherwise over the sounds embedded by this process."""
        if inputs is not None:
            self.ensure_loaded()
            self.unknown_tags.clear()
            self.sounds_embedded = len(inputs)
            self.sounds_without_known_tags = 0
            for tags in inputs:
                tags = tags.split() if isinstance(tags, str) else tags
                known = 0
                for tag in tags:
                    if self.lookup(str(tag)) is None:
                        self.unknown_tags[str(tag)] += 1
                    else:
                        known += 1
                self.sounds_without_known_tags += known == 0
        return {
            "sounds_counted": self.sounds_embedded,
            "unknown_tags_dropped": int(sum(self.unknown_tags.values())),
            "unknown_tags_distinct": len(self.unknown_tags),
            "unknown_tags_most_common": self.unknown_tags.most_common(20),
            "sounds_without_known_tags": self.sounds_without_known_tags,
        }

    def config(self) -> dict[str, Any]:
        files = self.files()
        extra = {"variant": self.variant, "heads": self.heads, "max_tags": MAX_TAGS,
                 "weights_sha256": sha256_of(files["weights"]), "vocab_sha256": sha256_of(files["vocab"])}
        if "word2vec" in files:
            extra["word2vec_sha256"] = sha256_of(files["word2vec"]) if files["word2vec"].is_file() else None
        options = {k: v for k, v in sorted(self.options.items()) if k not in ("vocab", "word2vec")}
        return {**super().config(), "options": options, **extra}


def _variant(name: str, variant: str, heads: int, dim: int, sha256: str | None, doc: str) -> type[TagEncoder]:
    url = f"{REPO}/saved_models/{variant}/tag_encoder_att_epoch_200.pt" if sha256 else None
    return type(name, (TagEncoder,), {"__doc__": doc, "variant": variant, "heads": heads, "dim": dim,
                                      "url": url, "sha256": sha256, "__module__": __name__})


# The 128-d checkpoints are public; the 1152-d ones are not published: pass --weights or put them
# under $BENCH_WEIGHTS_DIR/ae-w2v-attention/<variant>/.
W2V128MeanTags = _variant("W2V128MeanTags", "ae_w2v_128_mean_c", 0, 128,
                          "7037eb11b62d469be96b900c31f0f87300f5332ee6275695d04b7f344531d391",
                          "Tag encoder, 128-d, mean of word2vec tag vectors (ae-w2v-attention).")
W2V128SelfAtt1hTags = _variant("W2V128SelfAtt1hTags", "ae_w2v_128_selfatt_c_1h", 1, 128,
                               "834fb0ea335cf9b89ac20142c41874bc13bd1ba41e99ed0535214e71451414bb",
                               "Tag encoder, 128-d, 1-head self-attention over word2vec tags (ae-w2v-attention).")
W2V128SelfAtt4hTags = _variant("W2V128SelfAtt4hTags", "ae_w2v_128_selfatt_c_4h", 4, 128,
                               "b476a5fe479e1059dd53970cc17419d57ea4163f3bfd417144b6ba41108ef24e",
                               "Tag encoder, 128-d, 4-head self-attention over word2vec tags (ae-w2v-attention).")
W2V1152MeanTags = _variant("W2V1152MeanTags", "ae_w2v_mean_c", 0, 1152, None,
                           "Tag encoder, 1152-d, mean (ae-w2v-attention; weights not public: --weights).")
W2V1152SelfAtt1hTags = _variant("W2V1152SelfAtt1hTags", "ae_w2v_selfatt_c_1h", 1, 1152, None,
                                "Tag encoder, 1152-d, 1-head self-attention (weights not public: --weights).")
W2V1152SelfAtt4hTags = _variant("W2V1152SelfAtt4hTags", "ae_w2v_selfatt_c_4h", 4, 1152, None,
                                "Tag encoder, 1152-d, 4-head self-attention (weights not public: --weights).")
