"""The project's MNIST classifier: labels generated digits (conditional GAN, inpainting) and gives
the features of the offline metrics (``docs/protocols.md``). Trained by :func:`train_classifier`
with a fixed seed; the weights ship in the package (``weights/mnist-classifier.safetensors``, about
330 kB) and load without pickle. A data set's spec names its shipped classifier (``classifier``);
:func:`classifier_for` loads it.

Architecture (LeNet-like): conv 5x5 16 -> ReLU -> max-pool 2 -> conv 5x5 32 -> ReLU -> max-pool 2
-> linear 128 (ReLU; the "features") -> linear 10 (logits). Inputs are pixels in [0, 1], [m, 1, 28, 28].

    python -m advnets.classifier --data-dir ../shared/data --out src/advnets/weights/mnist-classifier.safetensors
"""

from __future__ import annotations

import argparse
import json
import time
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from advnets.batching import apply_in_batches
from advnets.data import registry as datasets
from advnets.errors import CheckpointError, ConfigError
from advnets.fileio import atomic_write_bytes

SHIPPED = "mnist-classifier.safetensors"


class MnistClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5)  # 28 -> 24, pooled to 12
        self.conv2 = nn.Conv2d(16, 32, 5)  # 12 -> 8, pooled to 4
        self.fc = nn.Linear(32 * 4 * 4, 128)
        self.out = nn.Linear(128, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate layer [m, 128] for x [m, 1, 28, 28] in [0, 1]."""
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)
        return F.relu(self.fc(h.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))  # [m, 10] logits

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        """Class labels [m] (evaluation mode, in batches)."""
        self.eval()
        return apply_in_batches(lambda batch: self(batch.float()).argmax(1), x, batch_size)


def train_classifier(data_dir: str | None = None, seed: int = 0, epochs: int = 3, batch_size: int = 64,
                     limit: int | None = None) -> tuple[MnistClassifier, dict]:
    """Adam (lr 1e-3) on MNIST train[0:50000] (or its first `limit` images); returns the network and
    its accuracy on the validation split train[50000:60000]."""
    mnist = datasets.get("mnist")
    x, y = mnist.load_images("train", data_dir)  # [50000, 1, 28, 28] in [0, 1], [50000]
    if limit:
        x, y = x[:limit], y[:limit]
    torch.manual_seed(seed)
    net = MnistClassifier()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    order_rng = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(x), generator=order_rng)
        for i in range(0, len(x), batch_size):
            rows = order[i : i + batch_size]
            loss = F.cross_entropy(net(x[rows]), y[rows])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    vx, vy = mnist.load_images("valid", data_dir)
    accuracy = float((net.predict(vx) == vy).float().mean())
    return net, {"seed": seed, "epochs": epochs, "batch_size": batch_size, "train_images": len(x),
                 "valid_accuracy": accuracy, "seconds": round(time.perf_counter() - t0, 1)}


def save_classifier(net: MnistClassifier, path: str | Path, info: dict) -> None:
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    atomic_write_bytes(Path(path), st_save(state, metadata={"advnets": json.dumps(info)}))


def classifier_for(dataset: str) -> MnistClassifier:
    """The shipped classifier of data set `dataset` (its spec's `classifier`), in evaluation mode."""
    shipped = datasets.get(dataset).classifier
    if shipped is None:
        raise ConfigError(f"no classifier ships for the data set '{dataset}'")
    return load_classifier(shipped=shipped)


def classifier_provenance(dataset: str) -> dict[str, str]:
    """Which feature network a metric row used: the shipped weights' name and SHA-256."""
    import hashlib

    shipped = datasets.get(dataset).classifier
    data = resources.files("advnets").joinpath("weights", shipped).read_bytes()
    return {"feature_network": f"advnets/weights/{shipped}", "feature_network_sha256": hashlib.sha256(data).hexdigest()}


def load_classifier(path: str | Path | None = None, shipped: str = SHIPPED) -> MnistClassifier:
    """A shipped classifier (advnets/weights/`shipped`) or the one at `path`, in evaluation mode on the CPU."""
    if path is None:
        data = resources.files("advnets").joinpath("weights", shipped).read_bytes()
        where = f"advnets/weights/{shipped}"
    else:
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise CheckpointError(f"cannot read classifier weights {path}: {e.strerror}") from None
        where = str(path)
    net = MnistClassifier()
    try:
        net.load_state_dict(st_load(data))
    except Exception:  # noqa: BLE001 - safetensors and load_state_dict raise several kinds
        raise CheckpointError(f"{where} does not hold this version's MNIST classifier weights") from None
    return net.eval()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    net, info = train_classifier(args.data_dir, args.seed, args.epochs)
    tx, ty = datasets.get("mnist").load_images("test", args.data_dir)
    info["test_accuracy"] = float((net.predict(tx) == ty).float().mean())
    save_classifier(net, args.out, info)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
