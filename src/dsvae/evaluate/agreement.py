"""How far several judges agree on the same generated sequences.

A figure judged by one classifier is only as good as that classifier on off-manifold inputs
(DESIGN.md, section 5). Scoring the same decoded sequences with judges of different designs
gives a check: where they agree, a reader can trust one number; where they differ by more than
:data:`TOLERANCE`, the figure is flagged in metrics.json, metrics.md and the report.

Only accuracies are compared (fractions in [0, 1], shown as percentages); IS and entropies
follow from the same probabilities and are reported per judge.
"""

from __future__ import annotations

from typing import Any

TOLERANCE = 0.02  # two percentage points: the largest difference reported as agreement


def accuracy_figures(scores: dict[str, Any]) -> dict[str, float]:
    """The accuracy figures of one judge's nested scores, flattened to ``test/score/factor`` -> mean."""
    out: dict[str, float] = {}

    def walk(node: Any, path: list[str]) -> None:
        if isinstance(node, dict) and set(node) == {"mean", "std"}:
            node = node["mean"]
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, [*path, key])
        elif isinstance(node, (int, float)) and any("accuracy" in p or p.startswith("vs_") for p in path):
            out["/".join(path)] = float(node)

    walk(scores, [])
    return out


def compare_judges(by_judge: dict[str, dict[str, Any]], tolerance: float = TOLERANCE) -> dict[str, Any]:
    """The largest disagreement between judges and every accuracy on which they differ by more than ``tolerance``.

    Args:
        by_judge: judge label -> that judge's nested scores (as in metrics.json).
        tolerance: the largest spread (max - min over judges) that counts as agreement.
    Returns:
        ``{"tolerance", "max_disagreement": {"figure", "spread", "values"}, "flagged": [...]}``, where
        each flagged entry has the same fields; flagged figures are sorted by spread, largest first.
    """
    figures = {label: accuracy_figures(scores) for label, scores in by_judge.items()}
    common = sorted(set.intersection(*(set(f) for f in figures.values()))) if figures else []
    rows: list[dict[str, Any]] = []
    for figure in common:
        values = {label: figures[label][figure] for label in figures}
        rows.append({"figure": figure, "spread": max(values.values()) - min(values.values()), "values": values})
    rows.sort(key=lambda r: -r["spread"])
    return {
        "tolerance": tolerance,
        "max_disagreement": rows[0] if rows else None,
        "flagged": [r for r in rows if r["spread"] > tolerance],
    }


def flagged_set(metrics: dict[str, Any]) -> set[str]:
    """The figures metrics.json flags (empty with one judge)."""
    agreement = metrics.get("agreement") or {}
    return {r["figure"] for r in agreement.get("flagged", [])}
