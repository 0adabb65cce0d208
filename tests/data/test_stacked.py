import numpy as np

from advnets.data import registry
from advnets.data.mnist import load_idx_split
from advnets.data.stacked import load_stacked_split


def test_stacked_mnist_stacks_three_mnist_digits_with_their_mode(data_dir):
    images, modes = load_stacked_split("test", str(data_dir))
    assert images.shape == (10000, 3, 28, 28) and images.dtype == np.uint8
    again, _ = load_stacked_split("test", str(data_dir))
    assert np.array_equal(images, again)  # the same split everywhere (fixed permutations)
    mnist, labels = load_idx_split("mnist", "test", str(data_dir))
    first = [int(np.flatnonzero((mnist == images[0, c]).all(axis=(1, 2)))[0]) for c in range(3)]
    assert modes[0] == 100 * int(labels[first[0]]) + 10 * int(labels[first[1]]) + int(labels[first[2]])
    assert len(np.unique(modes)) == 1000
    spec = registry.get("stacked-mnist")
    assert spec.x_shape == (3, 28, 28) and spec.n_classes == 0 and spec.classifier is None
