"""Tiny randomly initialised Hugging Face audio models, built from configs and saved to folders
(no hub): the ``hf:`` adapter's tests run them as ``hf:<folder>``."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ARCHITECTURES = ("wav2vec2-group", "wav2vec2-layer", "hubert", "wavlm", "data2vec-audio", "ast", "whisper", "clap")

_SPEECH = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=24,
               conv_dim=(16, 16, 16, 16), conv_stride=(5, 4, 4, 4), conv_kernel=(10, 8, 4, 4), num_conv_pos_embeddings=8,
               num_conv_pos_embedding_groups=2)


def build(arch: str, folder: Path, seed: int = 0) -> Path:
    """Save a tiny random ``arch`` model and its feature extractor to ``folder``; returns it."""
    import torch
    import transformers as T

    torch.manual_seed(seed)
    folder = Path(folder)
    if arch in ("wav2vec2-group", "wav2vec2-layer", "hubert", "wavlm", "data2vec-audio"):
        norm = "layer" if arch in ("wav2vec2-layer", "wavlm") else "group"
        cls = {"wav2vec2-group": T.Wav2Vec2Config, "wav2vec2-layer": T.Wav2Vec2Config, "hubert": T.HubertConfig,
               "wavlm": T.WavLMConfig, "data2vec-audio": T.Data2VecAudioConfig}[arch]
        extra = {} if arch == "data2vec-audio" else {"feat_extract_norm": norm}
        if arch == "wavlm":
            extra.update(num_buckets=16, max_bucket_distance=40)
        config = cls(**_SPEECH, **extra)
        model = T.AutoModel.from_config(config)
        # wav2vec2-base's own setting (group norm): no attention mask from its extractor
        extractor = T.Wav2Vec2FeatureExtractor(do_normalize=True, return_attention_mask=norm == "layer")
    elif arch == "ast":
        config = T.ASTConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=24,
                             num_mel_bins=32, max_length=100, frequency_stride=10, time_stride=10)
        model = T.AutoModel.from_config(config)
        extractor = T.ASTFeatureExtractor(num_mel_bins=32, max_length=100)  # 1.00 s windows
    elif arch == "whisper":
        config = T.WhisperConfig(d_model=16, encoder_layers=2, decoder_layers=1, encoder_attention_heads=2,
                                 decoder_attention_heads=2, encoder_ffn_dim=24, decoder_ffn_dim=24, num_mel_bins=16,
                                 max_source_positions=50, max_target_positions=16, vocab_size=64,
                                 pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=1)
        model = T.AutoModel.from_config(config)
        extractor = T.WhisperFeatureExtractor(feature_size=16, chunk_length=1)  # 1 s inputs
    elif arch == "clap":
        audio = dict(window_size=4, num_mel_bins=16, spec_size=64, patch_size=4, patch_stride=(4, 4),
                     hidden_size=32, projection_dim=8, depths=(1, 1), num_attention_heads=(2, 2),
                     patch_embeds_hidden_size=16, num_hidden_layers=2, enable_fusion=False)
        text = dict(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=24,
                    projection_dim=8, max_position_embeddings=32)
        config = T.ClapConfig(text_config=text, audio_config=audio, projection_dim=8)
        model = T.AutoModel.from_config(config)
        extractor = T.ClapFeatureExtractor(feature_size=16, sampling_rate=16000, hop_length=160, max_length_s=1,
                                           fft_window_size=512)
    else:
        raise ValueError(f"unknown architecture {arch}; known: {', '.join(ARCHITECTURES)}")
    model.eval()
    model.save_pretrained(folder)
    extractor.save_pretrained(folder)
    return folder
