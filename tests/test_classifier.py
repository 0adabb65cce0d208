import json

import pytest
import torch

from advnets.classifier import load_classifier, save_classifier, train_classifier
from advnets.data.mnist import load_idx_split
from advnets.errors import CheckpointError


def test_shipped_classifier_reaches_98_5_percent_on_the_test_set(data_dir):
    images, labels = load_idx_split("mnist", "test", str(data_dir))
    net = load_classifier()  # safetensors: no pickled code runs
    predicted = net.predict(torch.from_numpy(images).float().div(255).unsqueeze(1))
    accuracy = float((predicted == torch.from_numpy(labels.astype("int64"))).float().mean())
    assert accuracy >= 0.985, accuracy
    assert net.features(torch.zeros(2, 1, 28, 28)).shape == (2, 128)


def test_training_code_learns_and_round_trips(data_dir, tmp_path):
    net, info = train_classifier(str(data_dir), seed=0, epochs=1, limit=2000)
    assert info["valid_accuracy"] > 0.7 and info["train_images"] == 2000
    save_classifier(net, tmp_path / "c.safetensors", info)
    again = load_classifier(tmp_path / "c.safetensors")
    x = torch.rand(5, 1, 28, 28)
    assert torch.equal(again(x), net.eval()(x))
    (tmp_path / "bad.safetensors").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="does not hold"):
        load_classifier(tmp_path / "bad.safetensors")
