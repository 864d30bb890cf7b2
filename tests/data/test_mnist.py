"""MNIST idx files: parsing, the official MD5s, and clear errors."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from dsvae.data import download_mnist, load_mnist
from dsvae.errors import DSVAEError


def test_real_files_pass_the_official_md5s(mnist_dir: Path) -> None:
    images, labels, sources = load_mnist(mnist_dir, "test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and set(labels.tolist()) == set(range(10))
    assert sources["t10k-images-idx3-ubyte"] == "md5:2646ac647ad5339dbf082846283269ea"


def test_plain_idx_files_load_too(fake_mnist: Path) -> None:
    for path in fake_mnist.glob("*.gz"):
        path.with_suffix("").write_bytes(gzip.decompress(path.read_bytes()))
        path.unlink()
    images, labels, _ = load_mnist(fake_mnist, "train", verify=False)
    assert images.shape == (300, 28, 28) and labels[0] == 1


def test_md5_mismatch_is_a_clear_error(fake_mnist: Path) -> None:
    with pytest.raises(DSVAEError, match=r"train-images-idx3-ubyte\.gz has MD5 \w+ when decompressed, the official"):
        load_mnist(fake_mnist, "train")


def test_truncated_idx_file_is_a_clear_error(fake_mnist: Path) -> None:
    path = fake_mnist / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-5]))
    with pytest.raises(DSVAEError, match="truncated or corrupt"):
        load_mnist(fake_mnist, "train", verify=False)


def test_not_gzip_nor_idx(fake_mnist: Path) -> None:
    (fake_mnist / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8bnonsense")
    with pytest.raises(DSVAEError, match=r"t10k-labels-idx1-ubyte\.gz cannot be read"):
        load_mnist(fake_mnist, "test", verify=False)


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(DSVAEError, match=r"train-images-idx3-ubyte\(\.gz\) is missing"):
        load_mnist(tmp_path, "train")


def test_download_verifies_the_decompressed_md5(mnist_dir: Path, fake_mnist: Path, tmp_path: Path, serve) -> None:
    cache = download_mnist(tmp_path / "cache", serve(mnist_dir))
    assert sorted(p.name for p in cache.iterdir()) == sorted(p.name for p in mnist_dir.iterdir())
    bad_mirror = tmp_path / "mirror"
    shutil.copytree(mnist_dir, bad_mirror)
    shutil.copyfile(fake_mnist / "t10k-labels-idx1-ubyte.gz", bad_mirror / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(DSVAEError, match="failed verification: t10k-labels-idx1-ubyte has MD5"):
        download_mnist(tmp_path / "cache2", serve(bad_mirror))
    assert not (tmp_path / "cache2" / "t10k-labels-idx1-ubyte.gz").exists()
