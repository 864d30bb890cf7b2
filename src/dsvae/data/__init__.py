"""Data: the on-disk data folder, its Dataset, and the builders of each data set.

Build a folder with a ``build_*`` function (or ``dsvae data NAME --out DIR``), then read it
with :func:`open_dataset`. See ``docs/data.md``.
"""

from dsvae.data.folder import DataFolderWriter, DataInfo, Factor, SequenceDataset, open_dataset, read_info
from dsvae.data.fsdd import build_fsdd
from dsvae.data.mnist import download_mnist, load_mnist
from dsvae.data.moving_mnist import build_moving_mnist, moving_mnist_from_npy
from dsvae.data.shapes import build_shapes
from dsvae.data.sprite_sheets import download_sheets
from dsvae.data.sprites import build_sprites
from dsvae.data.user import build_from_array, build_from_frames

__all__ = [
    "DataFolderWriter",
    "DataInfo",
    "Factor",
    "SequenceDataset",
    "build_from_array",
    "build_from_frames",
    "build_fsdd",
    "build_moving_mnist",
    "build_shapes",
    "build_sprites",
    "download_mnist",
    "download_sheets",
    "load_mnist",
    "moving_mnist_from_npy",
    "open_dataset",
    "read_info",
]
