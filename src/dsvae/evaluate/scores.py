"""The scores of the disentanglement protocol, as pure functions of arrays.

Shape legend: N sequences, n classes, P pairs. Probabilities are rows of p(y | x) from the
judge. Entropies are in nats (natural logarithm), so the ceiling of H(y) on n balanced
classes is ln n and the inception score lies in [1, n].

- Inception score (Salimans et al. 2016), as the sequential-VAE papers use it with a judge
  trained on the data set (e.g. Zhu et al. 2020, S3VAE): IS = exp(E_x KL(p(y|x) || p(y))),
  with p(y) = E_x p(y|x).
- H(y|x) = E_x H(p(y|x)): low when the judge is confident on each generated sequence.
- H(y) = H(E_x p(y|x)): high when the generated sequences cover the classes evenly.
- Equal error rate of a verification score: the error at the threshold where the false
  acceptance and false rejection rates are equal (Li & Mandt 2018 score speaker
  verification this way).
"""

from __future__ import annotations

import numpy as np

EPS = 1e-12  # floor inside logarithms: 0 log 0 is taken as 0


def _probs(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0:
        raise ValueError(f"expected probabilities (N, n) with N > 0, got shape {p.shape}")
    return p


def _entropy(p: np.ndarray) -> np.ndarray:
    """Entropy of each row of p (..., n), in nats."""
    return -(p * np.log(np.clip(p, EPS, None))).sum(-1)


def accuracy(pred: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of ``pred`` (N,) equal to ``labels`` (N,)."""
    pred, labels = np.asarray(pred), np.asarray(labels)
    if pred.shape != labels.shape or pred.size == 0:
        raise ValueError(f"predictions {pred.shape} and labels {labels.shape} must be equal, non-empty shapes")
    return float((pred == labels).mean())


def conditional_entropy(p: np.ndarray) -> float:
    """H(y|x) = mean over rows of H(p(y|x)), from p (N, n)."""
    return float(_entropy(_probs(p)).mean())


def marginal_entropy(p: np.ndarray) -> float:
    """H(y) = H(mean over rows of p(y|x)), from p (N, n)."""
    return float(_entropy(_probs(p).mean(0)))


def inception_score(p: np.ndarray) -> float:
    """IS = exp(E_x KL(p(y|x) || p(y))) from p (N, n).

    Since E_x KL(p(y|x) || p(y)) = H(y) - H(y|x), the score is exp(H(y) - H(y|x)).
    """
    p = _probs(p)
    marginal = p.mean(0, keepdims=True)  # (1, n)
    kl = (p * (np.log(np.clip(p, EPS, None)) - np.log(np.clip(marginal, EPS, None)))).sum(1)  # (N,)
    return float(np.exp(kl.mean()))


def balanced_indices(labels: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Indices of a class-balanced subset: the same number of rows for every class present.

    Each class keeps as many rows as the rarest class has; with ``rng`` the rows kept are a
    random choice, otherwise the first ones. Returned sorted.
    """
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    m = int(counts.min())
    keep = []
    for c in classes:
        rows = np.flatnonzero(labels == c)
        keep.append(rng.choice(rows, m, replace=False) if rng is not None else rows[:m])
    return np.sort(np.concatenate(keep))


def equal_error_rate(scores: np.ndarray, same: np.ndarray) -> float:
    """EER of accepting a pair as "same" when its score is at least a threshold.

    Args:
        scores: (P,) similarity of each pair (higher means more alike).
        same: (P,) bool, True for pairs of the same class (e.g. the same speaker).
    Returns:
        The rate where the false acceptance rate (different pairs accepted) equals the false
        rejection rate (same pairs rejected), linearly interpolated between the thresholds
        (the sorted scores) on either side of the crossing. 0 is perfect, 0.5 is chance.
    """
    scores, same = np.asarray(scores, dtype=np.float64), np.asarray(same, dtype=bool)
    n_pos, n_neg = int(same.sum()), int((~same).sum())
    if scores.shape != same.shape or n_pos == 0 or n_neg == 0:
        raise ValueError("the EER needs equal-length scores and labels with both same and different pairs")
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], same[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # last pair of each distinct threshold
    far = np.r_[0.0, np.cumsum(~y)[last] / n_neg]  # accepted different pairs, threshold +inf first
    frr = np.r_[1.0, 1.0 - np.cumsum(y)[last] / n_pos]  # rejected same pairs
    gap = frr - far  # falls from 1 to -1 as the threshold is lowered
    k = int(np.argmax(gap <= 0))
    if gap[k] == 0:
        return float(far[k])
    a = gap[k - 1] / (gap[k - 1] - gap[k])  # where the segment from point k-1 to k crosses gap = 0
    return float(far[k - 1] + a * (far[k] - far[k - 1]))


def cosine_pairs(v: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All pairs i < j of rows of v (N, D): cosine similarities (P,) and whether labels match (P,)."""
    v = np.asarray(v, dtype=np.float64)
    unit = v / np.clip(np.linalg.norm(v, axis=1, keepdims=True), EPS, None)
    i, j = np.triu_indices(len(v), k=1)
    sims = (unit[i] * unit[j]).sum(1)
    labels = np.asarray(labels)
    return sims, labels[i] == labels[j]


def mean_std(values: list[float]) -> dict[str, float]:
    """``{"mean", "std"}`` over draws; the sample standard deviation (ddof 1), 0 for one draw."""
    a = np.asarray(values, dtype=np.float64)
    std = float(a.std(ddof=1)) if len(a) > 1 else 0.0
    return {"mean": float(a.mean()), "std": std}
