import numpy as np
import pytest
import soundfile

from benchmark.data.audio import load_audio
from benchmark.core.errors import AudioError
from tests.helpers import tone, write_wav


@pytest.mark.parametrize("ext,fmt", [("wav", "WAV"), ("flac", "FLAC"), ("ogg", "OGG"), ("mp3", "MP3")])
def test_formats_decode_to_mono_float32_at_the_rate(tmp_path, ext, fmt):
    stereo = np.stack([tone(1.0, sr=44100), tone(1.0, sr=44100, freq=220)], axis=1)
    path = tmp_path / f"clip.{ext}"
    soundfile.write(path, stereo, 44100, format=fmt)
    samples = load_audio(path, 16000)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) - 16000) < 1200  # mp3 adds encoder padding
    assert 0.1 < np.abs(samples).max() <= 1.0


def test_offset_and_duration(tmp_path):
    path = write_wav(tmp_path / "a.wav", tone(2.0))
    assert len(load_audio(path, 22000, offset=0.5, duration=1.0)) == 22000


def test_missing_empty_and_corrupt_files_name_the_file(tmp_path):
    with pytest.raises(AudioError, match="not found: .*absent.wav"):
        load_audio(tmp_path / "absent.wav", 16000)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00not really audio")
    with pytest.raises(AudioError, match="corrupt.wav"):
        load_audio(corrupt, 16000)
    empty = write_wav(tmp_path / "empty.wav", np.zeros(0, np.float32))
    with pytest.raises(AudioError, match="empty.wav"):
        load_audio(empty, 16000)
