"""Published figures to set a run beside, with their sources.

Only numbers printed in the papers are kept here; each row names the table it comes from.
Scores are those of the "dynamics kept, content resampled" test (the papers' Acc, IS,
H(y|x), H(y)) on the data set named by the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Published:
    """One published row of the disentanglement table."""

    model: str  # the model as the paper names it
    source: str  # where the numbers are printed
    accuracy: float  # judge accuracy on the dynamic factor, in [0, 1]
    inception_score: float  # exp(E_x KL(p(y|x) || p(y)))
    h_y_given_x: float  # H(y|x), nats
    h_y: float  # H(y), nats


PUBLISHED: dict[str, list[Published]] = {
    "sprites": [
        Published(
            model="DSVAE (Li & Mandt 2018)",
            source="as reported by Zhu et al. 2020, S3VAE (CVPR 2020), Table 1",
            accuracy=0.9073,
            inception_score=8.384,
            h_y_given_x=0.072,
            h_y=2.192,
        ),
    ],
}


def ceiling(n_classes: int) -> Published:
    """The best possible row on n balanced classes: every sequence judged right, with certainty."""
    return Published(
        model="ceiling",
        source=f"a perfect model and judge on {n_classes} balanced classes",
        accuracy=1.0,
        inception_score=float(n_classes),
        h_y_given_x=0.0,
        h_y=math.log(n_classes),
    )


def published_for(data_name: str) -> list[Published]:
    """The published rows for a data set (none for sets without published figures)."""
    return list(PUBLISHED.get(data_name, []))
