"""The template reader of the Sprites motion: exact on real sequences, robust to what generations look like."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dsvae.data import open_dataset
from dsvae.errors import DSVAEError
from dsvae.evaluate.augment import PartnerIndex, gaussian_blur, mix
from dsvae.evaluate.templates import TemplateReader

pytestmark = pytest.mark.slow  # they build the whole Sprites set (about 10 s, 1 GiB)


@pytest.fixture(scope="module")
def reader(sprites_folder: Path) -> TemplateReader:
    return TemplateReader.fit(open_dataset(sprites_folder, "train", labelled=True))


def test_reads_every_real_test_sequence(sprites_folder: Path, reader: TemplateReader) -> None:
    test = open_dataset(sprites_folder, "test", labelled=True)
    read = np.concatenate([reader.read(test.get_batch(np.arange(s, min(len(test), s + 512)))["x"])
                           for s in range(0, len(test), 512)])  # fmt: skip
    assert np.array_equal(read, test.labels[:, 0])  # all 2664, none of whose characters it was built from


def test_reads_the_motion_of_blurred_average_characters(sprites_folder: Path, reader: TemplateReader) -> None:
    """Three characters doing one motion, averaged and blurred: no character is left, the motion is."""
    test = open_dataset(sprites_folder, "test", labelled=True)
    labels = np.asarray(test.labels)
    rng = np.random.default_rng(0)
    rows = rng.choice(len(test), 300, replace=False)
    partners = PartnerIndex(labels)
    x = test.get_batch(rows)["x"]
    for j in range(2):
        mates = partners.partners(rows, np.zeros(len(rows), dtype=np.int64), rng)  # same motion, another character
        x = mix(x, test.get_batch(mates)["x"], torch.full((len(rows),), (j + 1) / (j + 2)))
    x = gaussian_blur(x, torch.full((len(rows),), 2.0))
    assert (reader.read(x) == labels[rows, 0]).mean() >= 0.99


def test_scores_are_pearson_correlations_and_a_still_sequence_is_unread(
    sprites_folder: Path, reader: TemplateReader
) -> None:
    test = open_dataset(sprites_folder, "test", labelled=True)
    x = test.get_batch(np.arange(5))["x"]
    s = reader.scores(x)
    feats = TemplateReader.features(x)
    for i in range(5):  # an independent computation: numpy's correlation coefficient
        for c in range(len(reader.classes)):
            assert s[i, c] == pytest.approx(np.corrcoef(feats[i], reader.templates[c])[0, 1], abs=1e-9)
    still = x[:, :1].expand_as(x).clone()  # the first frame held: nothing moves
    assert (reader.read(still) == -1).all()


def test_refuses_sequences_it_cannot_read(sprites_folder: Path, reader: TemplateReader) -> None:
    with pytest.raises(DSVAEError, match="frames x height x width"):
        reader.read(torch.zeros(2, 8, 3, 32, 32))
    with pytest.raises(DSVAEError, match=r"\(N, T, C, H, W\)"):
        reader.read(torch.zeros(2, 8, 64))
    with pytest.raises(DSVAEError, match="no factor 'speed'"):
        TemplateReader.fit(open_dataset(sprites_folder, "train", labelled=True), factor="speed")
