"""The disentanglement protocol on a run's test split, scored by a judge.

Tests (each random one repeated over K draws, reported as mean and standard deviation):

- real / reconstruction: the judge on the test sequences themselves and on decode(f_mean,
  z_mean), for every head: the ceiling, and where content is lost before any swapping.
- content resampled, dynamics kept (the papers' "Acc"; Li & Mandt 2018, Zhu et al. 2020):
  decode(f ~ p(f), z_mean); the dynamic head should still name the true motion. IS, H(y|x)
  and H(y) on the dynamic head over a class-balanced subset (scores.py).
- dynamics resampled, content kept: decode(f_mean, z ~ p(z_1:T)); the static heads should
  still name the true attributes, each and all together (joint).
- swap: decode(f of A, z of B) for a random pairing; accuracy of every head against A's labels
  (what follows f) and against B's (what follows z).
- likelihood: the test ELBO and its terms (one sample of f, z per sequence and draw), MSE of
  the reconstructions.
- verification (vector frames, e.g. speech): equal error rate of "same speaker" decided by
  the cosine similarity of posterior means, using f and using z averaged over time.

Shape legend: N test sequences used, B a batch, T frames, F = dim_f, Z = dim_z, K_h heads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from dsvae.config import check_choices, check_positive, to_dict
from dsvae.data.folder import DataInfo, SequenceDataset, open_dataset
from dsvae.errors import DSVAEError
from dsvae.evaluate import scores
from dsvae.evaluate.agreement import compare_judges
from dsvae.evaluate.judge import Judge
from dsvae.evaluate.literature import ceiling, published_for
from dsvae.evaluate.tables import markdown
from dsvae.io import atomic_write, write_json
from dsvae.model import DSVAE
from dsvae.run_folder import EVAL_DIR, EVAL_METRICS, EVAL_TABLES, Checkpoint, checkpoint_dir, read_run_config

Log = Callable[[str], None]
Verification = Literal["auto", "on", "off"]
TESTS = ("content", "dynamics", "swap")  # content resampled, dynamics resampled, f of A with z of B


@dataclass
class EvalConfig:
    """How ``dsvae evaluate`` scores a run."""

    samples: int = 3  # K draws of each random test; mean and std are over these
    dynamic_factor: str = ""  # the factor scored as "the" dynamics; "" means motion if present, else the first dynamic
    speaker_factor: str = ""  # static factor of the verification test; "" means speaker if present, else first static
    verification: Verification = "auto"  # EER test of f against z: "auto" (vector frames only), "on" or "off"
    split: str = "test"  # the data folder's split to score
    max_sequences: int = 0  # >0: a random subset of this many sequences (quick looks on CPU); 0 means all
    batch_size: int = 64  # sequences per decode
    min_judge_accuracy: float | None = None  # refuse judges below this on real test data; None: the judge's own
    checkpoint: Checkpoint = "best"  # which checkpoint of the run: "best" (falls back to "latest") or "latest"
    eer_max_sequences: int = 1000  # verification pairs come from at most this many sequences (N^2/2 pairs)
    seed: int = 0  # seeds the draws and subsets, so a rerun gives the same numbers
    device: str = "cpu"  # "cpu" or "cuda"

    def __post_init__(self) -> None:
        check_positive(self, ("samples", "batch_size", "eer_max_sequences"), "eval")
        if self.max_sequences < 0:
            raise DSVAEError(f"eval.max_sequences must be >= 0, got {self.max_sequences}")
        check_choices(self, "eval")
        if self.min_judge_accuracy is not None and not 0 <= self.min_judge_accuracy <= 1:
            raise DSVAEError(f"eval.min_judge_accuracy must be in [0, 1], got {self.min_judge_accuracy}")
        if self.device not in ("cpu", "cuda"):
            raise DSVAEError(f"eval.device must be cpu or cuda, got {self.device!r}")


@dataclass
class Roles:
    """Which heads play which part: the scored dynamic factor, the static ones, the speaker."""

    names: list[str]  # every head, in label-column order
    dynamic: int  # index of the scored dynamic factor
    static: list[int]  # indices of all static factors
    speaker: int | None  # index of the verification factor, None when the test is off


def factor_roles(info: DataInfo, cfg: EvalConfig) -> Roles:
    """Resolve the factor roles of a data set under ``cfg`` (clear errors for bad names)."""
    names = [f.name for f in info.factors]
    dynamic = [i for i, f in enumerate(info.factors) if f.kind == "dynamic"]
    static = [i for i, f in enumerate(info.factors) if f.kind == "static"]
    if not dynamic or not static:
        raise DSVAEError(f"data set {info.name!r} needs a dynamic and a static labelled factor; its factors: {names}")
    if cfg.dynamic_factor:
        d = info.factor_index(cfg.dynamic_factor)
        if d not in dynamic:
            raise DSVAEError(f"eval.dynamic_factor {cfg.dynamic_factor!r} is a static factor of {info.name!r}")
    else:
        d = names.index("motion") if "motion" in names and names.index("motion") in dynamic else dynamic[0]
    on = cfg.verification == "on" or (cfg.verification == "auto" and info.layout == "vector")
    speaker = None
    if on:
        if cfg.speaker_factor:
            speaker = info.factor_index(cfg.speaker_factor)
        else:
            speaker = names.index("speaker") if "speaker" in names else static[0]
    return Roles(names, d, static, speaker)


@dataclass
class Setup:
    """Everything checked and loaded before any score is computed or file written."""

    model: DSVAE
    judges: list[Judge]  # the first is the primary: its figures are the top level of the metrics
    judge_names: list[str]  # unique labels of the judges (their folder names)
    data: SequenceDataset
    data_dir: Path
    checkpoint: Path
    roles: Roles
    select: np.ndarray  # (N,) sorted indices of the sequences scored


def judge_labels(paths: list[Path]) -> list[str]:
    """Unique short labels for judge folders: their names, with a number where two names are the same."""
    labels: list[str] = []
    for p in paths:
        base = p.resolve().name or "judge"
        label, n = base, 2
        while label in labels:
            label, n = f"{base}-{n}", n + 1
        labels.append(label)
    return labels


def prepare(run: str | Path, judge_paths: list[Path], cfg: EvalConfig, data_dir: str | Path | None = None) -> Setup:
    """Load and cross-check the run's model, the judges and the data; raise before anything is written."""
    if not judge_paths:
        raise DSVAEError("no judge given: pass --judge DIR (a folder written by `dsvae judge`)")
    run_cfg = read_run_config(run)
    ckpt = checkpoint_dir(run, cfg.checkpoint)
    model = DSVAE.from_pretrained(ckpt, map_location=cfg.device)
    path = data_dir or run_cfg.data.path
    if not path:
        raise DSVAEError(f"run {run} names no data folder (data.path is empty); pass --data DIR")
    data = open_dataset(path, cfg.split, labelled=True)
    judges = []
    for judge_path in judge_paths:
        judge = Judge.load(judge_path, map_location=cfg.device)
        judge.check_data(data.info, where=str(path))
        judge.check_frame_shape(model.config.frame_shape, what=f"the model of {run}")
        judge.check_n_frames(model.config.n_frames, what=f"the model of {run}")
        judge.check_accuracy(cfg.min_judge_accuracy)
        judges.append(judge)
    if model.config.n_frames != data.info.n_frames:
        raise DSVAEError(f"the model of {run} makes {model.config.n_frames} frames, the data {data.info.n_frames}")
    select = np.arange(len(data))
    if cfg.max_sequences and cfg.max_sequences < len(data):
        rng = np.random.default_rng(cfg.seed)
        select = np.sort(rng.choice(len(data), cfg.max_sequences, replace=False))
    labels = judge_labels([Path(p) for p in judge_paths])
    return Setup(model, judges, labels, data, Path(path), ckpt, factor_roles(data.info, cfg), select)


def batches(n: int, size: int) -> list[slice]:
    return [slice(s, min(n, s + size)) for s in range(0, n, size)]


Probs = list[list[list[np.ndarray]]]  # [judge][head] -> batches of p(y|x)


def new_probs(s: Setup) -> Probs:
    return [[[] for _ in s.roles.names] for _ in s.judges]


def judged(judges: list[Judge], x: torch.Tensor, into: Probs) -> None:
    """Append each judge's p(y|x) of each head for x (B, T, *frame) to ``into[judge][head]``."""
    for j, judge in enumerate(judges):
        for head, p in enumerate(judge.probabilities(x)):
            into[j][head].append(p.numpy())


def stacked(probs: Probs) -> list[list[np.ndarray]]:
    """[judge][head] -> (N, n_head) arrays."""
    return [[np.concatenate(p) for p in per_judge] for per_judge in probs]


@torch.no_grad()
def posterior_pass(s: Setup, cfg: EvalConfig) -> dict[str, Any]:
    """One deterministic pass: posterior means, labels, judge on real and reconstructed sequences, MSE."""
    real, recon = new_probs(s), new_probs(s)
    f, z, labels, sq_err, n_el = [], [], [], 0.0, 0
    for b in batches(len(s.select), cfg.batch_size):
        batch = s.data.get_batch(s.select[b])
        x = batch["x"].to(cfg.device)
        post = s.model.encode(x)
        x_hat = s.model.decode(post.f_mean, post.z_mean)  # (B, T, *frame)
        judged(s.judges, x, real)
        judged(s.judges, x_hat, recon)
        sq_err += float(((x_hat - x) ** 2).sum())
        n_el += x.numel()
        f.append(post.f_mean)
        z.append(post.z_mean)
        labels.append(batch["labels"].numpy())
    return {"f": torch.cat(f), "z": torch.cat(z), "labels": np.concatenate(labels),
            "real": stacked(real), "recon": stacked(recon), "mse": sq_err / n_el}  # fmt: skip


def derangement(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random pairing i -> partner[i] with no sequence paired with itself (for n > 1): one cycle."""
    perm = rng.permutation(n)
    partner = np.empty(n, dtype=np.int64)
    partner[perm] = np.roll(perm, -1)
    return partner


@torch.no_grad()
def draw_pass(s: Setup, post: dict[str, Any], cfg: EvalConfig, k: int) -> dict[str, Any]:
    """Draw k of the random tests: judge probabilities per test and head, the partner of the swap, ELBO terms."""
    N = len(s.select)
    gen = torch.Generator(device=cfg.device).manual_seed(cfg.seed * 1000 + k)
    partner = derangement(N, np.random.default_rng([cfg.seed, k]))
    tests: dict[str, Probs] = {t: new_probs(s) for t in TESTS}
    terms: dict[str, float] = {}
    model = s.model
    devices = [torch.device(cfg.device)] if cfg.device == "cuda" else []
    with torch.random.fork_rng(devices=devices):  # the ELBO's samples: seeded here, not leaking out
        torch.manual_seed(cfg.seed * 1000 + k)
        for b in batches(N, cfg.batch_size):
            f, z = post["f"][b], post["z"][b]  # (B, F), (B, T, Z)
            B, T = z.shape[:2]
            judged(s.judges, model.decode(model.sample_f(B, gen), z), tests["content"])
            judged(s.judges, model.decode(f, model.sample_z(B, T, gen)), tests["dynamics"])
            judged(s.judges, model.decode(f, post["z"][partner[b]]), tests["swap"])
            x = s.data.get_batch(s.select[b])["x"].to(cfg.device)
            for name, value in model(x).terms.items():
                terms[name] = terms.get(name, 0.0) + float(value) * B / N
    return {"probs": {t: stacked(p) for t, p in tests.items()}, "partner": partner, "terms": terms}


def generation_scores(p: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """IS, H(y|x) and H(y) of one head's probabilities p (N, n) over a subset balanced by true label."""
    keep = scores.balanced_indices(labels)
    return {"is": scores.inception_score(p[keep]), "h_y_given_x": scores.conditional_entropy(p[keep]),
            "h_y": scores.marginal_entropy(p[keep])}  # fmt: skip


def score_draw(roles: Roles, labels: np.ndarray, draw: dict[str, Any]) -> dict[str, float]:
    """The draw's scores as a flat dict with keys ``test/score[/factor]``."""
    out: dict[str, float] = {}
    probs, partner = draw["probs"], draw["partner"]
    for h, name in enumerate(roles.names):
        out[f"content_resampled/accuracy/{name}"] = scores.accuracy(probs["content"][h].argmax(1), labels[:, h])
        out[f"dynamics_resampled/accuracy/{name}"] = scores.accuracy(probs["dynamics"][h].argmax(1), labels[:, h])
        pred = probs["swap"][h].argmax(1)
        out[f"swap/vs_content_source/{name}"] = scores.accuracy(pred, labels[:, h])
        out[f"swap/vs_dynamics_source/{name}"] = scores.accuracy(pred, labels[partner, h])
    d = roles.dynamic
    for key, value in generation_scores(probs["content"][d], labels[:, d]).items():
        out[f"content_resampled/{key}"] = value
    joint = np.ones(len(labels), dtype=bool)
    for h in roles.static:
        name = roles.names[h]
        joint &= probs["dynamics"][h].argmax(1) == labels[:, h]
        for key, value in generation_scores(probs["dynamics"][h], labels[:, h]).items():
            out[f"dynamics_resampled/{key}/{name}"] = value
    out["dynamics_resampled/joint_static_accuracy"] = float(joint.mean())
    for key, value in draw["terms"].items():
        out[f"likelihood/{key}"] = value
    return out


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"a/b/c": v}`` -> ``{"a": {"b": {"c": v}}}``."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        *path, last = key.split("/")
        node = out
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def verification_scores(s: Setup, post: dict[str, Any], cfg: EvalConfig) -> dict[str, Any]:
    """EER of "same <speaker>" from cosine similarities of f and of z averaged over time."""
    assert s.roles.speaker is not None
    labels = post["labels"][:, s.roles.speaker]
    keep = np.arange(len(labels))
    if len(keep) > cfg.eer_max_sequences:
        keep = np.sort(np.random.default_rng(cfg.seed).choice(len(keep), cfg.eer_max_sequences, replace=False))
    out: dict[str, Any] = {"factor": s.roles.names[s.roles.speaker], "n_sequences": len(keep)}
    if len(np.unique(labels[keep])) < 2 or len(np.unique(labels[keep])) == len(keep):
        raise DSVAEError(f"the verification test needs repeated and different {out['factor']} labels in the data")
    for name, v in (("f", post["f"]), ("z", post["z"].mean(1))):  # (N, F), (N, Z)
        sims, same = scores.cosine_pairs(v[keep].cpu().numpy(), labels[keep])
        out[f"eer_{name}"] = scores.equal_error_rate(sims, same)
    out["n_pairs"] = len(keep) * (len(keep) - 1) // 2
    return out


def judge_info(judge: Judge, path: Path, label: str) -> dict[str, Any]:
    """What the metrics record of a judge: where it is, its design and its accuracies on real test data."""
    return {"name": label, "path": str(path.resolve()), "arch": judge.cfg.arch,
            "real_test_accuracy": judge.test_accuracy, "robust_accuracy": judge.robust_accuracy,
            "threshold": judge.cfg.threshold}  # fmt: skip


def evaluate(
    run: str | Path,
    judge_paths: str | Path | list[str | Path],
    cfg: EvalConfig,
    data_dir: str | Path | None = None,
    log: Log | None = None,
) -> dict[str, Any]:
    """Score a run with one judge or several; returns the metrics (what ``metrics.json`` holds), writes nothing.

    With several judges the top-level figures are the first judge's; ``by_judge`` holds every
    judge's figures and ``agreement`` the largest difference between them and every accuracy on
    which they differ by more than ``agreement.TOLERANCE``.
    """
    say = log or (lambda _: None)
    t0 = time.perf_counter()
    paths = [Path(p) for p in (judge_paths if isinstance(judge_paths, list) else [judge_paths])]
    s = prepare(run, paths, cfg, data_dir)
    say(f"evaluate: {len(s.select)} {cfg.split} sequences of {s.data.info.name!r}, {cfg.samples} draws, "
        f"{len(s.judges)} judge(s)")  # fmt: skip
    post = posterior_pass(s, cfg)
    labels, names = post["labels"], s.roles.names
    draws: list[list[dict[str, float]]] = [[] for _ in s.judges]  # [judge][draw]
    for k in range(cfg.samples):
        draw = draw_pass(s, post, cfg, k)
        for j in range(len(s.judges)):
            mine = {"probs": {t: p[j] for t, p in draw["probs"].items()}, "partner": draw["partner"],
                    "terms": draw["terms"]}  # fmt: skip
            draws[j].append(score_draw(s.roles, labels, mine))
        say(f"evaluate: draw {k + 1}/{cfg.samples} done ({time.perf_counter() - t0:.0f}s)")
    by_judge = {}
    for j, label in enumerate(s.judge_names):
        by_judge[label] = {
            "real": {"accuracy": head_accuracies(post["real"][j], labels, names)},
            "reconstruction": {"accuracy": head_accuracies(post["recon"][j], labels, names), "mse": post["mse"]},
            **nest({key: scores.mean_std([d[key] for d in draws[j]]) for key in draws[j][0]}),
        }
    dyn = s.data.info.factors[s.roles.dynamic]
    infos = [judge_info(jd, p, lb) for jd, p, lb in zip(s.judges, paths, s.judge_names, strict=True)]
    metrics: dict[str, Any] = {
        "run": str(Path(run).resolve()),
        "checkpoint": str(s.checkpoint.resolve()),
        "data": {"name": s.data.info.name, "path": str(s.data_dir.resolve()), "split": cfg.split,
                 "n_sequences": len(s.select)},
        "judge": infos[0],
        "judges": infos,
        "config": to_dict(cfg),
        "factors": {"names": names, "dynamic": names[s.roles.dynamic],
                    "static": [names[h] for h in s.roles.static]},
        **by_judge[s.judge_names[0]],
        "balanced_subset": {"content_resampled": len(scores.balanced_indices(labels[:, s.roles.dynamic]))},
        "reference": {"published": [vars(p) for p in published_for(s.data.info.name)],
                      "ceiling": vars(ceiling(dyn.n_classes))},
    }  # fmt: skip
    if len(s.judges) > 1:
        metrics["by_judge"] = by_judge
        metrics["agreement"] = compare_judges(by_judge)
    if s.roles.speaker is not None:
        metrics["verification"] = verification_scores(s, post, cfg)
    metrics["seconds"] = round(time.perf_counter() - t0, 1)
    return metrics


def head_accuracies(probs: list[np.ndarray], labels: np.ndarray, names: list[str]) -> dict[str, float]:
    return {name: scores.accuracy(probs[h].argmax(1), labels[:, h]) for h, name in enumerate(names)}


def write_evaluation(run: str | Path, metrics: dict[str, Any], out: Path | None = None) -> list[Path]:
    """Write ``metrics.json`` and ``metrics.md`` (each atomically) into ``out``, by default ``RUN/eval``."""
    out = Path(run) / EVAL_DIR if out is None else Path(out)
    text = markdown(metrics)
    write_json(out / EVAL_METRICS, metrics)
    atomic_write(out / EVAL_TABLES, lambda p: p.write_text(text))
    return [out / EVAL_METRICS, out / EVAL_TABLES]
