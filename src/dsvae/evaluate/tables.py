"""The metrics of ``dsvae evaluate`` as tables (dsvae.tables blocks), with the published figures beside
the run: ``metrics.md`` is their Markdown, the report their HTML."""

from __future__ import annotations

from typing import Any

from dsvae.evaluate.agreement import flagged_set
from dsvae.evaluate.augment import CORRUPTIONS
from dsvae.evaluate.literature import Published
from dsvae.tables import Block, Heading, Paragraph, Table, to_markdown

FLAG = " ⚠"  # after a figure on which the judges differ by more than the agreement tolerance


def pm(ms: dict[str, float] | float, percent: bool = False, digits: int = 3) -> str:
    """``mean ± std`` (or a plain number), optionally as a percentage."""
    scale, unit = (100.0, "%") if percent else (1.0, "")
    d = 2 if percent else digits
    if isinstance(ms, dict):
        return f"{scale * ms['mean']:.{d}f} ± {scale * ms['std']:.{d}f}{unit}"
    return f"{scale * ms:.{d}f}{unit}"


def published_row(p: Published, label: str) -> list[str]:
    return [label, f"{100 * p.accuracy:.2f}%", f"{p.inception_score:.3f}", f"{p.h_y_given_x:.3f}", f"{p.h_y:.3f}"]


def judged(m: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, scores) per judge: the one judge's top-level figures, or every judge's."""
    if "by_judge" in m:
        return list(m["by_judge"].items())
    return [(m.get("judge", {}).get("name", "judge"), m)]


def flag(m: dict[str, Any], figure: str) -> str:
    return FLAG if figure in flagged_set(m) else ""


def headline(m: dict[str, Any]) -> list[Block]:
    """The papers' table: dynamics kept, content resampled, judged on the dynamic factor."""
    dyn = m["factors"]["dynamic"]
    k = m["config"]["samples"]
    several = "by_judge" in m
    rows = []
    for label, sc in judged(m):
        c = sc["content_resampled"]
        who = f"this run, judge `{label}`" if several else "this run"
        rows.append([f"{who} ({k} draws, mean ± std)",
                     pm(c["accuracy"][dyn], True) + flag(m, f"content_resampled/accuracy/{dyn}"),
                     pm(c["is"]), pm(c["h_y_given_x"]), pm(c["h_y"])])  # fmt: skip
    for p in m["reference"]["published"]:
        rows.append(published_row(Published(**p), f"{p['model']}, {p['source']}"))
    ceil = Published(**m["reference"]["ceiling"])
    rows.append(published_row(ceil, f"ceiling ({ceil.source})"))
    return [
        Heading(f"Dynamics kept, content resampled (the papers' Acc): judged on `{dyn}`"),
        Paragraph(
            "Each test sequence keeps its z_1:T (posterior mean) and gets a new f ~ p(f); the judge names "
            f"the `{dyn}` of the decoded sequence. IS, H(y|x), H(y) in nats over "
            f"{m['balanced_subset']['content_resampled']} sequences, the same number per true class."
        ),
        Table(["", "Acc", "IS", "H(y|x)", "H(y)"], rows),
    ]


def content_kept(m: dict[str, Any]) -> list[Block]:
    rows = []
    several = "by_judge" in m
    for name in [*m["factors"]["static"], ""]:
        for label, sc in judged(m):
            d = sc["dynamics_resampled"]
            who = f" (judge `{label}`)" if several else ""
            if name:
                acc = pm(d["accuracy"][name], True) + flag(m, f"dynamics_resampled/accuracy/{name}")
                rows.append([f"`{name}`{who}", acc, pm(d["is"][name]), pm(d["h_y_given_x"][name]), pm(d["h_y"][name])])
            else:
                acc = pm(d["joint_static_accuracy"], True) + flag(m, "dynamics_resampled/joint_static_accuracy")
                rows.append([f"all static factors together{who}", acc, "", "", ""])
    return [
        Heading("Content kept, dynamics resampled"),
        Paragraph(
            "Each test sequence keeps its f (posterior mean) and gets z_1:T from the learned prior; the judge "
            "names its static attributes."
        ),
        Table(["factor", "Acc", "IS", "H(y|x)", "H(y)"], rows),
    ]


def per_head(m: dict[str, Any]) -> list[Block]:
    names = m["factors"]["names"]
    kinds = {n: ("dynamic" if n not in m["factors"]["static"] else "static") for n in names}
    several = "by_judge" in m
    rows = []
    figures = (
        ("real", "accuracy"),
        ("reconstruction", "accuracy"),
        ("content_resampled", "accuracy"),
        ("dynamics_resampled", "accuracy"),
        ("swap", "vs_content_source"),
        ("swap", "vs_dynamics_source"),
    )
    for n in names:
        for label, sc in judged(m):
            who = f", judge `{label}`" if several else ""
            cells = [pm(sc[t][key][n], True) + flag(m, f"{t}/{key}/{n}") for t, key in figures]
            rows.append([f"`{n}` ({kinds[n]}{who})", *cells])
    return [
        Heading("Where content is lost: judge accuracy per factor"),
        Paragraph(
            "Real: the test sequences themselves. Reconstructed: decode(f_mean, z_mean). New f / new z: the two "
            "tests above. Swap: f of sequence A with z_1:T of another sequence B, scored against A's labels "
            "(the factor follows f) and against B's (it follows z). Static factors should follow f, dynamic "
            "ones z; where A and B share a label both columns count it."
        ),
        Table(["factor", "real", "reconstructed", "new f", "new z", "swap: as A (f)", "swap: as B (z)"], rows),
    ]


def likelihood(m: dict[str, Any]) -> list[Block]:
    lk = m["likelihood"]
    header = ["ELBO", "reconstruction term", "KL f", "KL z", "MSE of reconstructions"]
    row = [pm(lk["elbo"], digits=2), pm(lk["recon"], digits=2), pm(lk["kl_f"], digits=2), pm(lk["kl_z"], digits=2),
           f"{m['reconstruction']['mse']:.5f}"]  # fmt: skip
    return [Heading("Test-set likelihood"), Paragraph("Nats per sequence (one sample of f, z per sequence and draw)."),
            Table(header, [row])]  # fmt: skip


def verification(m: dict[str, Any]) -> list[Block]:
    v = m.get("verification")
    if not v:
        return []
    rows = [["f (static)", pm(v["eer_f"], True)], ["z averaged over time (dynamic)", pm(v["eer_z"], True)]]
    return [
        Heading(f"Verification: same `{v['factor']}`?"),
        Paragraph(
            f"Equal error rate of deciding that two sequences share their `{v['factor']}` from the cosine "
            f"similarity of posterior means ({v['n_pairs']} pairs of {v['n_sequences']} sequences; the test of "
            "Li & Mandt 2018). A disentangled model has a low EER with f and a high one (near 50%) with z."
        ),
        Table(["latent", "EER"], rows),
    ]


def judges(m: dict[str, Any]) -> list[Block]:
    """Each judge's design and its worst accuracy on the real test split, clean and corrupted."""
    rows = []
    for j in m.get("judges", [m.get("judge", {})]):
        if not j:
            continue
        clean = j.get("real_test_accuracy", {})
        robust = j.get("robust_accuracy", {})
        worst = [f"{100 * min(clean.values()):.1f}%" if clean else "n/a"]
        worst += [f"{100 * min(robust[c].values()):.1f}%" if robust.get(c) else "n/a" for c in CORRUPTIONS]
        rows.append([f"`{j.get('name', 'judge')}`", f"`{j.get('arch', 'pooled')}`", *worst])
    return [
        Heading("Judges"),
        Paragraph(
            "Worst head of each judge on the real test split, clean and corrupted (blurred, noised, blended half "
            "and half with a sequence sharing the head's label; spliced: the last quarter of the frames from a "
            "sequence with the same content, judged by the other three quarters)."
        ),
        Table(["judge", "design", "clean", "blurred", "noised", "blended", "spliced"], rows),
    ]


def agreement(m: dict[str, Any]) -> list[Block]:
    a = m.get("agreement")
    if not a:
        return []
    worst, tol = a["max_disagreement"], 100 * a["tolerance"]
    title = Heading("Do the judges agree?")
    if worst is None:
        return [title, Paragraph("No figure is shared by the judges.")]
    values = ", ".join(f"`{k}` {100 * v:.1f}%" for k, v in worst["values"].items())
    largest = f"Largest disagreement: {100 * worst['spread']:.1f} points on `{worst['figure']}` ({values})."
    if not a["flagged"]:
        return [title, Paragraph(f"{largest}\nEvery accuracy agrees within {tol:.0f} points.")]
    rows = [[f"`{r['figure']}`", f"{100 * r['spread']:.1f}",
             ", ".join(f"{k} {100 * v:.1f}%" for k, v in r["values"].items())] for r in a["flagged"]]  # fmt: skip
    return [title, Paragraph(largest),
            Paragraph(f"Figures on which the judges differ by more than {tol:.0f} points (marked{FLAG} above):"),
            Table(["figure", "spread (points)", "values"], rows)]  # fmt: skip


def blocks(m: dict[str, Any]) -> list[Block]:
    """Every table of an evaluation (the parsed ``metrics.json``), under the title "Evaluation"."""
    d = m["data"]
    paths = ", ".join(f"`{j['path']}`" for j in m.get("judges", [m["judge"]]))
    intro: list[Block] = [
        Heading("Evaluation", 1),
        Paragraph(
            f"Run `{m['run']}`, checkpoint `{m['checkpoint']}`; {d['n_sequences']} `{d['split']}` sequences of "
            f"`{d['name']}`; judged by {paths}; {m['config']['samples']} draws per random test "
            f"(seed {m['config']['seed']}); {m['seconds']:.0f} s."
        ),
    ]
    sections = [intro, judges(m), agreement(m), headline(m), content_kept(m), per_head(m), likelihood(m),
                verification(m)]  # fmt: skip
    return [b for s in sections for b in s]


def markdown(m: dict[str, Any]) -> str:
    """The whole of ``metrics.md``."""
    return to_markdown(blocks(m))
