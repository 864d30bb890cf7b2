"""The protocol's scores against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dsvae.evaluate import scores
from dsvae.evaluate.literature import ceiling, published_for


@pytest.mark.parametrize("n", [2, 9])
def test_uniform_predictions(n: int) -> None:
    p = np.full((12, n), 1.0 / n)
    assert scores.inception_score(p) == pytest.approx(1.0)
    assert scores.conditional_entropy(p) == pytest.approx(math.log(n))
    assert scores.marginal_entropy(p) == pytest.approx(math.log(n))


@pytest.mark.parametrize("n", [2, 9])
def test_confident_balanced_predictions_reach_the_ceiling(n: int) -> None:
    p = np.tile(np.eye(n), (3, 1))  # every class predicted with certainty, 3 times each
    assert scores.inception_score(p) == pytest.approx(n)
    assert scores.conditional_entropy(p) == pytest.approx(0.0, abs=1e-9)
    assert scores.marginal_entropy(p) == pytest.approx(math.log(n))
    c = ceiling(n)
    assert (c.inception_score, c.h_y_given_x, c.h_y) == (n, 0.0, pytest.approx(math.log(n)))


def test_a_table_worked_by_hand() -> None:
    p = np.array([[0.5, 0.5], [1.0, 0.0]])
    # p(y) = (3/4, 1/4); KL rows: 1/2 ln(2/3) + 1/2 ln 2 = 1/2 ln(4/3), and ln(4/3); mean 3/4 ln(4/3)
    assert scores.inception_score(p) == pytest.approx((4 / 3) ** 0.75)
    assert scores.conditional_entropy(p) == pytest.approx(math.log(2) / 2)
    assert scores.marginal_entropy(p) == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))


def test_inception_score_is_exp_of_the_entropy_gap() -> None:
    p = np.random.default_rng(0).dirichlet(np.ones(5), size=40)
    gap = scores.marginal_entropy(p) - scores.conditional_entropy(p)
    assert scores.inception_score(p) == pytest.approx(math.exp(gap))


def test_balanced_subset_keeps_the_rarest_class_count() -> None:
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    assert scores.balanced_indices(labels).tolist() == [0, 1, 3, 4, 5, 6]
    picked = labels[scores.balanced_indices(labels, np.random.default_rng(1))]
    assert np.bincount(picked).tolist() == [2, 2, 2]


def test_equal_error_rate_by_hand() -> None:
    same = [0.9, 0.8, 0.3]
    diff = [0.7, 0.6, 0.1, 0.05, 0.02]
    s = np.array(same + diff)
    y = np.array([True] * 3 + [False] * 5)
    # thresholds 0.9, 0.8 reject 2/3 then 1/3 of same pairs with no false accept; at 0.7 FAR=1/5, FRR=1/3;
    # at 0.6 FAR=2/5, FRR=1/3: the rates cross 2/3 of the way from 0.7 to 0.6, at FAR = 1/5 + 2/3 * 1/5 = 1/3
    assert scores.equal_error_rate(s, y) == pytest.approx(1 / 3)
    # an exact crossing: at threshold 0.7, FAR = FRR = 1/3
    assert scores.equal_error_rate(np.array([0.9, 0.8, 0.4, 0.7, 0.3, 0.2]), np.array([1, 1, 1, 0, 0, 0], bool)) == (
        pytest.approx(1 / 3)
    )


def test_equal_error_rate_extremes() -> None:
    y = np.array([True, True, False, False])
    assert scores.equal_error_rate(np.array([0.9, 0.8, 0.2, 0.1]), y) == 0.0
    assert scores.equal_error_rate(np.array([0.1, 0.2, 0.8, 0.9]), y) == 1.0
    assert scores.equal_error_rate(np.full(4, 0.5), y) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="both same and different"):
        scores.equal_error_rate(np.array([0.1, 0.2]), np.array([True, True]))


def test_cosine_pairs_and_accuracy_and_mean_std() -> None:
    sims, same = scores.cosine_pairs(np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0]]), np.array([0, 0, 1]))
    assert sims.tolist() == pytest.approx([1.0, 0.0, 0.0])  # pairs (0,1), (0,2), (1,2)
    assert same.tolist() == [True, False, False]
    assert scores.accuracy(np.array([1, 2, 3, 4]), np.array([1, 2, 0, 0])) == 0.5
    ms = scores.mean_std([1.0, 2.0, 3.0])
    assert ms == {"mean": 2.0, "std": pytest.approx(1.0)}  # sample standard deviation
    assert scores.mean_std([5.0]) == {"mean": 5.0, "std": 0.0}


def test_published_sprites_figures() -> None:
    (dsvae,) = published_for("sprites")
    assert (dsvae.accuracy, dsvae.inception_score, dsvae.h_y_given_x, dsvae.h_y) == (0.9073, 8.384, 0.072, 2.192)
    assert "Zhu et al. 2020" in dsvae.source and "Table 1" in dsvae.source
    assert ceiling(9).h_y == pytest.approx(2.197, abs=5e-4)
    assert published_for("shapes") == []
