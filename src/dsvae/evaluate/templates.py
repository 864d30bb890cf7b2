"""A reader of a dynamic factor that needs no training: the nearest class mean of what moves.

On a data set whose sequences of one motion are drawn frame by frame from the same animation
(Sprites: every character walks, casts and slashes with the same body poses), the motion can be
read without a classifier. Each frame becomes a silhouette (a pixel counts as drawn in
proportion to its brightest channel, full at ``threshold``), the sequence's mean silhouette is
subtracted (what stays still, such as the character's build, hair and facing, drops out) and
the rest is compared, by correlation, with the same quantity averaged over the training
sequences of each class. The class of the best match is the reading.

It is a second instrument of another design beside the judge (evaluate/judge.py): it learns no
weights, so it has no training seed, cannot over-fit the look of the real characters and
reads a blurred or average-looking character by the pose changes alone. It is exact on the
real Sprites test split (tested), and it is blind to whatever does not move: a factor that a
single frame shows but the changes do not cannot be read this way.

Shape legend: N sequences, T frames, C, H, W image channels/height/width, n classes.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from dsvae.data.folder import SequenceDataset
from dsvae.errors import DSVAEError

READ_CHUNK = 256  # sequences read at a time from the memory map
STILL = 1e-3  # no pixel's silhouette moves by more than this: the sequence shows no motion to read


class TemplateReader:
    """Reads one dynamic factor of image sequences by correlation with per-class templates.

    Args:
        templates: (n, T*H*W) the class means of the motion features, in class order.
        factor: the factor's name.
        classes: its class names.
        threshold: the intensity at which a pixel counts as fully drawn.
    """

    def __init__(self, templates: np.ndarray, factor: str, classes: list[str], threshold: float = 0.25) -> None:
        t = np.asarray(templates, dtype=np.float64)
        self.shape_flat = t.shape[1]
        self.factor, self.classes, self.threshold = factor, list(classes), threshold
        self.templates = _normalise(t)

    @staticmethod
    def features(x: Tensor | np.ndarray, threshold: float = 0.25) -> np.ndarray:
        """Image sequences (N, T, C, H, W) in [0, 1] -> (N, T*H*W): the silhouettes minus their mean over time."""
        x = torch.as_tensor(x).float()
        if x.dim() != 5:
            raise DSVAEError(f"the template reader reads image sequences (N, T, C, H, W), got shape {tuple(x.shape)}")
        drawn = (x.amax(2) / threshold).clamp(0, 1)  # (N, T, H, W)
        moving = drawn - drawn.mean(1, keepdim=True)
        return moving.flatten(1).double().numpy()

    @classmethod
    def fit(cls, ds: SequenceDataset, factor: str = "motion", threshold: float = 0.25) -> TemplateReader:
        """The templates of ``factor`` from every sequence of a labelled split (e.g. the training split)."""
        if ds.info.layout != "image":
            raise DSVAEError("the template reader needs a labelled split of image sequences")
        names = [f.name for f in ds.info.factors]
        if factor not in names:
            raise DSVAEError(f"the data set has no factor {factor!r} (it has {', '.join(names)})")
        k = names.index(factor)
        classes = list(ds.info.factors[k].classes)
        labels = np.asarray(ds.labels[:, k])
        sums, counts = None, np.zeros(len(classes))
        for start in range(0, len(ds), READ_CHUNK):
            rows = np.arange(start, min(len(ds), start + READ_CHUNK))
            f = cls.features(ds.get_batch(rows)["x"], threshold)  # (b, T*H*W)
            onehot = np.eye(len(classes))[labels[rows]]  # (b, n)
            sums = onehot.T @ f if sums is None else sums + onehot.T @ f
            counts += onehot.sum(0)
        if sums is None or (counts == 0).any():
            missing = [c for c, n in zip(classes, counts, strict=True) if n == 0]
            raise DSVAEError(f"no training sequence of {factor} class(es) {missing}: cannot build their templates")
        return cls(sums / counts[:, None], factor, classes, threshold)

    def scores(self, x: Tensor | np.ndarray) -> np.ndarray:
        """(N, n) correlations of each sequence's motion features with each class's template (0 where nothing moves)."""
        return self._scores(self._features(x))

    def read(self, x: Tensor | np.ndarray) -> np.ndarray:
        """(N,) the class index each sequence matches best; -1 for a sequence in which nothing moves."""
        f = self._features(x)
        return np.where(np.abs(f).max(1) < STILL, -1, self._scores(f).argmax(1))

    def _features(self, x: Tensor | np.ndarray) -> np.ndarray:
        f = self.features(x, self.threshold)
        if f.shape[1] != self.shape_flat:
            raise DSVAEError(
                f"the templates are of sequences of {self.shape_flat} pixels in all (frames x height x width), "
                f"these have {f.shape[1]}: read sequences of the data set the templates were built from"
            )
        return f

    def _scores(self, f: np.ndarray) -> np.ndarray:
        return _normalise(f) @ self.templates.T


def _normalise(rows: np.ndarray) -> np.ndarray:
    """Each row centred and scaled to unit length (a row that is all one value stays zero)."""
    c = rows - rows.mean(1, keepdims=True)
    return c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)
