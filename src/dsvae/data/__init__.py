"""Data: the on-disk data folder, its Dataset, and the builders of each data set."""

from dsvae.data.folder import DataFolderWriter, DataInfo, Factor, SequenceDataset, open_dataset, read_info
from dsvae.data.shapes import build_shapes

__all__ = ["DataFolderWriter", "DataInfo", "Factor", "SequenceDataset", "build_shapes", "open_dataset", "read_info"]
