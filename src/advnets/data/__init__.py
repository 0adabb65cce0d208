"""Data: IDX files (MNIST, Fashion-MNIST), TFD, synthetic mixtures, and minibatch sources."""

from advnets.data.images import IMAGE_DATASETS, load_split
from advnets.data.mnist import IDX_DATASETS, data_dirs, load_idx_split
from advnets.data.sources import DataSource, MixtureSource, TensorSource, build_source

__all__ = ["IDX_DATASETS", "IMAGE_DATASETS", "load_split", "DataSource", "MixtureSource", "TensorSource", "build_source", "data_dirs",
           "load_idx_split"]
