"""The judge: a classifier of every labelled factor, trained on real sequences, that scores generations.

The protocol of the sequential-VAE papers (Li & Mandt 2018; Zhu et al. 2020, S3VAE) decodes
latents chosen on purpose (dynamics of one sequence with a new content, ...) and asks a
classifier trained on the real data which factors the result shows. Generated sequences are
off the data's manifold (blurred, an average character), so the judge is built and checked
for them (DESIGN.md, section 5):

- it reads frames at their own size (``image_size=0``), and its dynamic heads read the frame
  features in time order, so that the order of the poses counts;
- its dynamic heads have a frame net of their own that sees only how the frames' silhouettes
  change (``dynamic_input="silhouette"``): what a new f redraws (hair, clothes, the colours of
  a character) cannot sway the reading of the motion, which on generated Sprites it did;
- that motion path reads the frames area-averaged to 16x16 (``motion_size=16``) and is trained
  on corruptions at that scale: the fine detail it then cannot see is what a decoder early in
  training draws wrong, and with it the judges misread generated motions the reader names;
- that motion path is a small ensemble (``motion_members=3``): paths initialised apart and
  trained side by side, whose probabilities are averaged, since one path's reading of
  generated sequences moves with its seed;
- it is trained on label-preserving corruptions of the real sequences (augment.py);
- besides its accuracy on the real test split it records its accuracy on blurred, noised and
  blended test sequences, and the threshold that refuses weak judges applies to both;
- two designs: ``arch=conv-lstm`` (the default: a frame net and a bidirectional LSTM, like
  the literature's classifiers) and ``arch=conv-tcn`` (another frame net and temporal
  convolutions) score the same sequences, and ``dsvae evaluate`` flags every figure on which
  two judges differ by more than two points (agreement.py).

A saved judge (``save_module`` kind ``"judge"``) records the data set it was trained on
(name, frame shape, frames per sequence, factors and class names) and its accuracies; using it
on another data set, on sequences of another length, or when a head is below the threshold,
is an error. Judges saved before the design was a choice load as ``arch=pooled`` (frames
shrunk to 32x32, every head reading the mean over time).

Shape legend: B sequences, T frames, C, H, W image channels/height/width, S = the size the
frame net reads, R = the size the motion paths read, V vector features, D = dim_frame, L = dim_time,
n_k classes of factor k.
"""

from __future__ import annotations

import math
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dsvae.config import check_choices, check_positive, from_dict, to_dict
from dsvae.data.folder import DataInfo, Factor
from dsvae.errors import DSVAEError
from dsvae.evaluate.augment import THRESHOLDED, AugmentConfig
from dsvae.outputs import atomic_folder, check_output_folder
from dsvae.pretrained import CONFIG_NAME, load_weights, read_config, save_module

KIND = "judge"
SILHOUETTE_FULL = 0.25  # dynamic_input="silhouette": the intensity at which a pixel counts as fully drawn


Arch = Literal["conv-tcn", "conv-lstm", "pooled"]
ARCHS: tuple[str, ...] = typing.get_args(Arch)
LSTMReading = Literal["ordered", "mean", "ends"]
DynamicInput = Literal["frames", "motion", "silhouette", "pose"]


@dataclass
class JudgeConfig:
    """The judge's architecture and training. Defaults train a robust Sprites judge in minutes on 2 CPU cores."""

    arch: Arch = "conv-lstm"  # "conv-lstm" (default, the literature's design); "conv-tcn" (a second opinion); "pooled"
    image_size: int = 0  # S: 0 reads frames at their own size; >0 area-averages them to SxS first (cheaper)
    width: int = 16  # channels of the first conv layer, doubled at each of the log2(S/4) stride-2 layers
    dim_frame: int = 64  # D: features per frame (conv net or MLP output)
    dim_time: int = 64  # L: channels of the temporal convolutions (kernel 3), or the LSTM's width
    lstm_reading: LSTMReading = "ordered"  # conv-lstm: "ordered" (dynamic heads read the outputs in time order, static
    # heads their mean), "mean" (every head reads the mean over time) or "ends" (both directions' last states)
    steps: int = 1500  # optimisation steps (Sprites: 5.3 passes over 9000 sequences; shapes: 24 over 2000)
    batch_size: int = 32  # sequences per step
    lr: float = 3e-3  # Adam peak learning rate: 5% linear warm-up (without it 3e-3 stalled on shapes), cosine to 0
    weight_decay: float = 1e-4  # light L2 regularisation (Adam weight decay); the data sets are small
    augment: bool = True  # train on label-preserving corruptions (augment.py); generated sequences look like them
    augmentation: AugmentConfig = field(default_factory=AugmentConfig)  # how often and how strongly each corruption is
    # applied (e.g. augmentation.hold=0.3); read only when augment is true
    residual: bool = True  # images: each frame also enters as its difference from the sequence's mean (what moves)
    dynamic_input: DynamicInput = "silhouette"  # images: what the dynamic heads read. "silhouette": a frame net of
    # their own on the changes of the frames' silhouettes (brightest channel, full at 0.25), so that the look of a
    # character (what a new f redraws) cannot sway the reading of its motion; "motion": the same on the changes of the
    # colours; "pose": the silhouettes' changes and the silhouettes themselves (the pose and facing; measured on
    # generated Sprites it read less than "silhouette", docs/results.md); "frames": the shared frame net's features
    # (frames and residuals), as judges saved before the choice
    motion_size: int = 16  # images with a motion path: >0 area-averages the frames to this size (at most the frame
    # net's) before their silhouettes are taken, and the training corruptions (blur, noise, ...) then act at this size
    # for the motion path; 0: the frame net's size. On generated Sprites at full size (0) the two designs read 5-9
    # points below the template reader; at 16 (with augmentation.faint=0) both read within 1 point of it
    # (docs/results.md)
    motion_members: int = 3  # images with a motion path: this many motion paths (frame net, temporal module, dynamic
    # heads), initialised apart and trained side by side on the same batches; the dynamic heads report the mean of
    # their probabilities. One path's reading of generated sequences moves with its seed (Sprites, step 500: 98.0% for
    # seed 0, 82.0% for seed 1); a small ensemble averages that out
    threshold: float = 0.99  # every head must reach this on the real test split (the papers' Sprites judges do)
    robust_threshold: float = 0.9  # ... and this on each corruption of it (a half-and-half blend is harder)
    max_train: int = 0  # >0: train on at most this many sequences (quick tests); 0 means all
    seed: int = 0  # seeds the weights, the data order and the corruptions

    def __post_init__(self) -> None:
        check_choices(self, "judge")
        check_positive(self, ("width", "dim_frame", "dim_time", "steps", "batch_size", "motion_members"), "judge")
        for name, zero in (("image_size", "frames as they are"), ("motion_size", "the frame net's size")):
            s = getattr(self, name)
            if not isinstance(s, int) or s < 0 or (s > 0 and (s < 4 or s & (s - 1))):
                raise DSVAEError(f"judge.{name} must be 0 ({zero}) or a power of two >= 4, got {s!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)) or not (self.weight_decay >= 0):
            raise DSVAEError("judge.lr must be a finite number > 0 and judge.weight_decay >= 0")
        for name in ("threshold", "robust_threshold"):
            if not 0 <= getattr(self, name) <= 1:
                raise DSVAEError(f"judge.{name} must be in [0, 1], got {getattr(self, name)}")
        if self.max_train < 0:
            raise DSVAEError(f"judge.max_train must be >= 0, got {self.max_train}")


@dataclass
class DataSignature:
    """What a judge knows of its data set; evaluation refuses a data set or model that differs."""

    name: str  # data set name from meta.json
    layout: str  # "image" or "vector"
    frame_shape: list[int]  # a frame as models see it: [C, H, W] or [V]
    n_frames: int  # T of the training sequences
    factors: list[Factor] = field(default_factory=list)  # the heads, in label-column order
    recipe_version: str = "1"  # the builder's recipe version

    @classmethod
    def of(cls, info: DataInfo) -> DataSignature:
        return cls(info.name, info.layout, list(info.model_frame_shape), info.n_frames,
                   [Factor(f.name, f.kind, list(f.classes)) for f in info.factors], info.recipe_version)  # fmt: skip

    def describe(self) -> str:
        return f"{self.name!r} with frames {tuple(self.frame_shape)}"


class JudgeNet(nn.Module):
    """Frames -> per-frame features -> a reading over time -> one logit vector per factor.

    ``conv-lstm`` (the default, like the literature's classifiers): a frame net with 4x4 kernels
    and LeakyReLU, and a bidirectional LSTM whose outputs the dynamic heads read in time order
    and the static heads by their mean (or every head by the mean or by the two end states:
    ``lstm_reading``; judges saved before the choice read the ends). ``conv-tcn`` (the second
    design, and the default of earlier releases): another frame net and two temporal
    convolutions over its features, read the same way (dynamic heads in time order, flattened;
    static heads the mean). ``pooled``: the
    judge of earlier releases (frames shrunk to 32x32, the mean over time for every head), kept
    so that its saved folders still load.
    """

    def __init__(
        self, cfg: JudgeConfig, frame_shape: tuple[int, ...], n_classes: list[int], dynamic: list[bool], n_frames: int
    ) -> None:
        super().__init__()
        self.arch, self.n_frames, self.lstm_reading = cfg.arch, n_frames, cfg.lstm_reading
        self.vector = len(frame_shape) == 1
        self.dynamic = list(dynamic)
        D, L = cfg.dim_frame, cfg.dim_time
        if self.vector:
            V = frame_shape[0]
            # per-feature standardisation of unbounded features (log-mel), set from the training split
            self.register_buffer("feat_mean", torch.zeros(V))
            self.register_buffer("feat_std", torch.ones(V))
            self.frame_net: nn.Module = nn.Sequential(nn.Linear(V, D), nn.ReLU(), nn.Linear(D, D), nn.ReLU())
        else:
            C, H, W = frame_shape
            if H != W or cfg.image_size > H:
                raise DSVAEError(f"judge.image_size {cfg.image_size} needs square frames at least as big, got {H}x{W}")
            self.size = cfg.image_size or H
            self.motion_size = min(cfg.motion_size, self.size) if cfg.motion_size else self.size
            self.residual = cfg.residual
            c_in = 2 * C if cfg.residual else C
            self.frame_net = self._frame_net(cfg, c_in, D)
        self.temporal: nn.Module = self._temporal(cfg, D, L)
        if cfg.arch == "conv-lstm":
            self.ordered = [cfg.lstm_reading == "ordered" and d for d in self.dynamic]
            L = 2 * L  # both directions
        else:
            self.ordered = [cfg.arch == "conv-tcn" and d for d in self.dynamic]
        # the dynamic heads' own paths (images only): frame nets on the frames' changes, their own temporal modules
        self.split = not self.vector and cfg.dynamic_input != "frames" and any(self.dynamic)
        self.silhouette = cfg.dynamic_input in ("silhouette", "pose")
        self.pose = cfg.dynamic_input == "pose"  # the silhouettes themselves too, not only their changes
        width = [L * n_frames if o else L for o in self.ordered]
        shared = [k for k, d in enumerate(self.dynamic) if not (self.split and d)]  # the heads on the shared path
        self.heads = nn.ModuleList(nn.Linear(width[k], n_classes[k]) for k in shared)
        self.shared_heads = shared
        self.path_heads = [k for k in range(len(self.dynamic)) if k not in shared]  # the heads the motion paths read
        if self.split:
            self.motion_paths = nn.ModuleList(
                MotionPath(
                    self._frame_net(cfg, (2 if self.pose else 1) if self.silhouette else C, D, self.motion_size),
                    self._temporal(cfg, D, cfg.dim_time),
                    [nn.Linear(width[k], n_classes[k]) for k in self.path_heads],
                )
                for _ in range(cfg.motion_members)
            )

    def heads_of(self, k: int) -> list[nn.Linear]:
        """The output layers of factor k: one on the shared path, or one per motion path."""
        if k in self.shared_heads:
            return [typing.cast(nn.Linear, self.heads[self.shared_heads.index(k)])]
        j = self.path_heads.index(k)
        return [typing.cast(nn.Linear, path.heads[j]) for path in self.paths()]

    def paths(self) -> list[MotionPath]:
        """The motion paths (none when every head reads the shared path)."""
        return typing.cast(list[MotionPath], list(self.motion_paths)) if self.split else []

    def _frame_net(self, cfg: JudgeConfig, channels: int, dim: int, size: int = 0) -> nn.Module:
        size = size or self.size
        if cfg.arch == "conv-lstm":
            return LeakyConvNet(channels, size, cfg.width, dim)
        return FrameConvNet(channels, size, cfg.width, dim, with_mean=cfg.arch == "conv-tcn")

    @staticmethod
    def _temporal(cfg: JudgeConfig, dim: int, width: int) -> nn.Module:
        if cfg.arch == "conv-lstm":
            return nn.LSTM(dim, width, batch_first=True, bidirectional=True)
        # (B, D, T) -> (B, L, T); two layers see five frames, enough for a motion's direction and speed
        return nn.Sequential(
            nn.Conv1d(dim, width, 3, padding=1), nn.ReLU(), nn.Conv1d(width, width, 3, padding=1), nn.ReLU()
        )

    def shrink(self, x: Tensor) -> Tensor:
        """Bring frames to what the frame net reads: (B, T, C, H, W) -> (B, T, C, S, S); vectors unchanged."""
        return x if self.vector else area_average(x, self.size)

    def classify(self, small: Tensor) -> list[Tensor]:
        """Shrunk frames (B, T, C, S, S) or (B, T, V) -> logits, one (B, n_k) per factor.

        A head read by several motion paths gives the log of their mean probability.
        """
        return [lg[0] if len(lg) == 1 else lg.log_softmax(-1).logsumexp(0) - math.log(len(lg))
                for lg in self.member_logits(small)]  # fmt: skip

    def member_logits(self, small: Tensor, coarse: Tensor | None = None) -> list[Tensor]:
        """Shrunk frames -> one (M, B, n_k) per factor: M motion paths for their heads, M = 1 for the others.

        ``coarse`` (B, T, C, R, R): what the motion paths read instead of the frames area-averaged to
        ``motion_size`` (training corrupts them at that scale); ignored without a coarse motion path.
        """
        T = small.shape[1]
        if self.n_frames != T and any(self.ordered):
            raise DSVAEError(f"the judge reads sequences of {self.n_frames} frames, got {T}")
        frames = small
        if self.vector:
            small = (small - self.feat_mean) / self.feat_std
        elif self.residual:
            # a faintly drawn moving limb on an average character is clearer once the still part is removed
            small = torch.cat([small, small - small.mean(1, keepdim=True)], 2)  # (B, T, 2C, S, S)
        summary, flat = self._read(self.frame_net, self.temporal, small)
        out: list[Tensor | None] = [None] * len(self.dynamic)
        for k, head in zip(self.shared_heads, self.heads, strict=True):
            out[k] = head(flat if self.ordered[k] else summary)[None]
        if self.split:
            seen = coarse if coarse is not None and self.coarse else area_average(frames, self.motion_size)
            if self.silhouette:
                drawn = (seen.amax(2, keepdim=True) / SILHOUETTE_FULL).clamp(0, 1)  # (B, T, 1, R, R)
                moving = drawn - drawn.mean(1, keepdim=True)  # what moves
                if self.pose:
                    moving = torch.cat([moving, drawn], 2)  # (B, T, 2, R, R): what moves, and the pose it is in
            else:
                moving = seen - seen.mean(1, keepdim=True)  # (B, T, C, R, R)
            readings = [(path, *self._read(path.net, path.temporal, moving)) for path in self.paths()]
            for j, k in enumerate(self.path_heads):
                out[k] = torch.stack([path.heads[j](flat_m if self.ordered[k] else summary_m)
                                      for path, summary_m, flat_m in readings])  # fmt: skip
        return typing.cast(list[Tensor], out)

    @property
    def coarse(self) -> bool:
        """True when the motion paths read the frames area-averaged to a smaller size than the frame net's."""
        return self.split and self.motion_size < self.size

    def _read(self, frame_net: nn.Module, temporal: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
        """Frames (B, T, ...) -> (a summary over time (B, F), the features in time order flattened (B, T*F))."""
        B, T = x.shape[:2]
        h = frame_net(x.flatten(0, 1)).view(B, T, -1)  # (B, T, D)
        if self.arch == "conv-lstm":
            out, _ = temporal(h)  # (B, T, 2L)
            if self.lstm_reading == "ends":
                L = out.shape[-1] // 2
                summary = torch.cat([out[:, -1, :L], out[:, 0, L:]], -1)  # (B, 2L): both directions' last states
            else:
                summary = out.mean(1)  # (B, 2L): every frame's reading counts equally
            return summary, out.flatten(1)  # (B, T*2L) in time order
        seq = temporal(h.transpose(1, 2))  # (B, L, T)
        return seq.mean(-1), seq.flatten(1)  # (B, L), (B, L*T) in time order

    def forward(self, x: Tensor) -> list[Tensor]:
        """x (B, T, C, H, W) in [0, 1] or (B, T, V) -> logits, one (B, n_k) per factor."""
        return self.classify(self.shrink(x))


def area_average(x: Tensor, size: int) -> Tensor:
    """Image sequences (B, T, C, S, S) -> (B, T, C, size, size) by area averaging (unchanged when S == size)."""
    if x.shape[-1] == size:
        return x
    B, T = x.shape[:2]
    small = F.adaptive_avg_pool2d(x.flatten(0, 1), size)
    return small.view(B, T, *small.shape[1:])


class MotionPath(nn.Module):
    """One reading of the motion: a frame net on the frames' changes, its temporal module, a head per dynamic factor."""

    def __init__(self, net: nn.Module, temporal: nn.Module, heads: list[nn.Module]) -> None:
        super().__init__()
        self.net: nn.Module = net
        self.temporal: nn.Module = temporal
        self.heads = nn.ModuleList(heads)


class FrameConvNet(nn.Module):
    """Stride-2 conv layers from SxS down to 4x4 (channels doubling), then a linear layer to D.

    The linear layer reads the flattened 4x4 map (where things are: motion), its spatial
    maximum (what is there wherever it is: shapes and attributes) and its spatial mean (the
    colour of a region, such as skin). GroupNorm rather than BatchNorm: the judge then behaves
    the same on decoded sequences as in training. The ``pooled`` judge of earlier releases has
    no mean (``with_mean=False``).
    """

    def __init__(self, channels: int, size: int, width: int, dim_out: int, with_mean: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in, c = channels, width
        for _ in range(int(math.log2(size // 4))):
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.GroupNorm(min(4, c), c), nn.ReLU()]
            c_in, c = c, c * 2
        self.conv = nn.Sequential(*layers)
        self.with_mean = with_mean
        self.out = nn.Linear(c_in * 16 + c_in * (2 if with_mean else 1), dim_out)

    def forward(self, x: Tensor) -> Tensor:
        """x (N, C, S, S) -> (N, D)."""
        h = self.conv(x)  # (N, c, 4, 4)
        parts = [h.flatten(1), h.amax((2, 3))] + ([h.mean((2, 3))] if self.with_mean else [])
        return F.relu(self.out(torch.cat(parts, 1)))


class LeakyConvNet(nn.Module):
    """The second design's frame net: 4x4 kernels of stride 2 down to 4x4, LeakyReLU, then linear.

    It reads the flattened 4x4 map and its spatial mean (the first design reads the maximum):
    small regions of one colour, such as skin, survive averaging over a map where they cover
    several cells.
    """

    def __init__(self, channels: int, size: int, width: int, dim_out: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in, c = channels, width
        for _ in range(int(math.log2(size // 4))):
            layers += [nn.Conv2d(c_in, c, 4, stride=2, padding=1), nn.GroupNorm(1, c), nn.LeakyReLU(0.2)]
            c_in, c = c, c * 2
        self.conv = nn.Sequential(*layers)
        self.out = nn.Linear(c_in * 16 + c_in, dim_out)

    def forward(self, x: Tensor) -> Tensor:
        """x (N, C, S, S) -> (N, D)."""
        h = self.conv(x)  # (N, c, 4, 4)
        return F.leaky_relu(self.out(torch.cat([h.flatten(1), h.mean((2, 3))], 1)), 0.2)


class Judge:
    """A trained judge: the net, its config, its data set and its accuracy on the real test split.

    ``robust_accuracy`` holds its accuracy per head on corrupted versions of the test split
    (``{corruption: {head: accuracy}}``, see augment.py); the threshold applies to both.
    """

    def __init__(
        self,
        cfg: JudgeConfig,
        data: DataSignature,
        test_accuracy: dict[str, float] | None = None,
        robust_accuracy: dict[str, dict[str, float]] | None = None,
    ) -> None:
        self.cfg = cfg
        self.data = data
        self.net = JudgeNet(cfg, tuple(data.frame_shape), [f.n_classes for f in data.factors],
                            [f.kind == "dynamic" for f in data.factors], data.n_frames)  # fmt: skip
        self.test_accuracy = dict(test_accuracy or {})
        self.robust_accuracy = {k: dict(v) for k, v in (robust_accuracy or {}).items()}
        self.extra: dict[str, Any] = {}  # training facts recorded in the JSON (sizes, seconds)

    @property
    def factor_names(self) -> list[str]:
        return [f.name for f in self.data.factors]

    @property
    def name(self) -> str:
        """A short label for tables: the architecture, and the seed when it is not 0."""
        return self.cfg.arch + (f"-s{self.cfg.seed}" if self.cfg.seed else "")

    @property
    def passed(self) -> bool:
        """True when every head reached its thresholds on the real test split, clean and corrupted."""
        return self.failing(self.cfg.threshold) == []

    def failing(self, threshold: float) -> list[str]:
        """``head`` for every clean accuracy below ``threshold`` (all heads if never measured) and
        ``head (corruption)`` for every corrupted one below ``min(threshold, cfg.robust_threshold)``
        (the corruptions of ``augment.THRESHOLDED``; splices are reported, not held to it)."""
        bad = [n for n in self.factor_names if self.test_accuracy.get(n, -1.0) < threshold]
        robust = min(threshold, self.cfg.robust_threshold)
        for corruption, acc in self.robust_accuracy.items():
            if corruption not in THRESHOLDED:
                continue
            bad += [f"{n} ({corruption})" for n in self.factor_names if acc.get(n, 1.0) < robust]
        return bad

    def accuracy_of(self, entry: str) -> float:
        """The accuracy behind an entry of :meth:`failing`."""
        if entry.endswith(")"):
            name, corruption = entry[:-1].split(" (")
            return self.robust_accuracy.get(corruption, {}).get(name, 0.0)
        return self.test_accuracy.get(entry, 0.0)

    # -- checks ------------------------------------------------------------------------------

    def check_data(self, info: DataInfo, where: str = "") -> None:
        """Raise unless ``info`` is the data set (name, frame shape, factors) this judge was trained on."""
        other = DataSignature.of(info)
        at = f" at {where}" if where else ""
        if other.name != self.data.name or other.frame_shape != self.data.frame_shape:
            raise DSVAEError(
                f"the judge was trained on {self.data.describe()}, but the data{at} is {other.describe()}; "
                "train a judge on this data set with `dsvae judge`"
            )
        mine = [(f.name, f.kind, f.classes) for f in self.data.factors]
        theirs = [(f.name, f.kind, f.classes) for f in other.factors]
        if mine != theirs:
            raise DSVAEError(
                f"the judge's factors {self.factor_names} (and class names) differ from the data{at} "
                f"({[f.name for f in other.factors]}); the data folder was rebuilt differently, retrain the judge"
            )

    def check_frame_shape(self, frame_shape: tuple[int, ...], what: str = "the model") -> None:
        """Raise unless sequences with this frame shape are what the judge reads."""
        if list(frame_shape) != self.data.frame_shape:
            raise DSVAEError(
                f"the judge reads frames {tuple(self.data.frame_shape)} of {self.data.name!r}, "
                f"but {what} makes frames {tuple(frame_shape)}"
            )

    def check_accuracy(self, threshold: float | None = None) -> None:
        """Refuse a judge below ``threshold`` (default: its own) on any head of the real test split."""
        threshold = self.cfg.threshold if threshold is None else threshold
        bad = self.failing(threshold)
        if bad:
            worst = ", ".join(f"{n} {100 * self.accuracy_of(n):.1f}%" for n in bad[:4])
            more = f" and {len(bad) - 4} more" if len(bad) > 4 else ""
            robust = min(threshold, self.cfg.robust_threshold)
            raise DSVAEError(
                f"the judge is not good enough to score with: on the real test sequences {worst}{more} "
                f"(threshold {100 * threshold:.1f}%, corrupted {100 * robust:.1f}%); "
                "train it longer (--steps) or lower the threshold"
            )

    def check_n_frames(self, n_frames: int, what: str = "the model") -> None:
        """Raise unless sequences of ``n_frames`` frames are what the judge was trained on."""
        if n_frames != self.data.n_frames:
            raise DSVAEError(
                f"the judge was trained on sequences of {self.data.n_frames} frames, but {what} makes {n_frames}; "
                "train a judge on data with as many frames"
            )

    # -- use ---------------------------------------------------------------------------------

    @torch.no_grad()
    def probabilities(self, x: Tensor) -> list[Tensor]:
        """p(y | x) per factor: x (B, T, *frame) -> one (B, n_k) per head, on the CPU."""
        self.net.eval()
        p = next(self.net.parameters())
        logits = self.net(x.to(device=p.device, dtype=p.dtype))
        return [lg.softmax(-1).float().cpu() for lg in logits]

    def to(self, device: str | torch.device) -> Judge:
        self.net.to(device)
        return self

    # -- saving and loading ------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "judge": to_dict(self.cfg),
            "data": asdict(self.data),
            "test_accuracy": self.test_accuracy,
            "robust_accuracy": self.robust_accuracy,
            "passed": self.passed,
            **self.extra,
        }

    def save(self, path: str | Path) -> Path:
        """Write the judge folder atomically: built beside ``path``, then renamed into place."""
        path = Path(path)
        check_judge_out(path)
        with atomic_folder(path) as tmp:
            save_module(tmp, KIND, self.to_json(), self.net)
        return path

    @classmethod
    def load(cls, path: str | Path, map_location: str | torch.device = "cpu") -> Judge:
        """Load a folder written by :meth:`save` (never unpickles)."""
        meta = read_config(path, KIND)
        try:
            fields = dict(meta["judge"])
            if "arch" not in fields:  # written before the architecture was a choice: the pooled judge
                fields.update(arch="pooled", augment=False)
            fields.setdefault("residual", False)  # written before frames entered with their residual
            fields.setdefault("lstm_reading", "ends")  # written before the LSTM's reading was a choice
            fields.setdefault("dynamic_input", "frames")  # written before the dynamic heads had a path of their own
            fields.setdefault("motion_members", 1)  # written before the motion paths were an ensemble
            fields.setdefault("motion_size", 0)  # written before the motion paths read shrunken frames
            cfg = from_dict(JudgeConfig, fields, where="judge")
            d = dict(meta["data"])
            factors = [Factor(**f) for f in d.pop("factors")]
            data = DataSignature(**d, factors=factors)
            accuracy = {str(k): float(v) for k, v in meta.get("test_accuracy", {}).items()}
            robust = {str(c): {str(k): float(v) for k, v in acc.items()}
                      for c, acc in meta.get("robust_accuracy", {}).items()}  # fmt: skip
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise DSVAEError(f"{path}/{CONFIG_NAME} is not a judge's config ({exc}); retrain the judge") from exc
        judge = cls(cfg, data, accuracy, robust)
        skip = ("judge", "data", "test_accuracy", "robust_accuracy", "passed")
        judge.extra = {k: v for k, v in meta.items() if k not in skip}
        load_weights(path, judge.net)
        return judge.to(map_location)


def is_judge(path: Path) -> bool:
    """A folder saved by Judge.save (a run folder also has a config.json: the kind tells them apart)."""
    try:
        read_config(path, KIND)
    except DSVAEError:
        return False
    return True


def check_judge_out(path: str | Path) -> None:
    """Refuse to replace anything at ``path`` but an empty folder or an earlier judge."""
    check_output_folder(path, is_judge, overwrite=True, what="judge folder", command="judge")
