"""Configuration of a training run: the data section, the training section, and the whole (RUN/config.json)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from dsvae.config import MOVED_TO_TRAIN, DSVAEConfig, check_choices, check_finite_floats, check_positive
from dsvae.errors import DSVAEError
from dsvae.objective import KLWeights

Device = Literal["auto", "cpu", "cuda"]
Precision = Literal["fp32", "bf16", "fp16"]
Schedule = Literal["constant", "cosine"]


@dataclass
class DataConfig:
    """Where the sequences come from."""

    path: str = ""  # a data folder written by `dsvae data`; empty means: given on the command line
    num_workers: int = 0  # loader processes; 0 reads each batch in-process from the memory map (fastest on few cores)
    test_batches: int = 0  # test batches per evaluation; 0 means the whole test split

    def __post_init__(self) -> None:
        if self.num_workers < 0:
            raise DSVAEError(f"data.num_workers must be >= 0, got {self.num_workers}")
        if self.test_batches < 0:
            raise DSVAEError(f"data.test_batches must be >= 0, got {self.test_batches}")


@dataclass
class TrainConfig:
    """The optimisation and the run's bookkeeping."""

    batch_size: int = 16  # sequences per step (per process under DDP)
    lr: float = 1e-3  # Adam learning rate
    betas: tuple[float, float] = (0.9, 0.999)  # Adam betas (PyTorch defaults)
    weight_decay: float = 0.0  # Adam weight decay; 0 leaves the ELBO as it is
    schedule: Schedule = "cosine"  # learning-rate schedule after warm-up: "constant" or "cosine" to lr * min_lr_ratio
    warmup_steps: int = 100  # linear learning-rate warm-up from 0, steadies Adam's first steps
    min_lr_ratio: float = 0.1  # the cosine schedule's final lr as a fraction of lr
    max_steps: int = 10000  # optimisation steps in all (the schedule's length)
    max_minutes: float = 0.0  # wall-clock budget; >0 stops (and checkpoints) when it is spent
    grad_clip: float = 10.0  # clip the global gradient norm; guards against rare large steps
    ema_decay: float = 0.0  # >0: evaluate, sample and save an exponential moving average of the weights (e.g. 0.999)
    kl_f_weight: float = 1.0  # weight on KL(q(f)||p(f)); 1 is the note's ELBO, other values change the objective
    kl_z_weight: float = 1.0  # weight on the z KL term; 1 is the note's ELBO
    kl_warmup_steps: int = 0  # >0: scale both KL terms linearly from 0 to their weight (changes the objective early on)
    # a KL schedule (off by default): the weights start at kl_*_start, are held there for kl_hold_steps, then move
    # linearly to kl_*_weight over kl_anneal_steps; it decides which latent learns a factor first (docs/results.md)
    kl_f_start: float = 1.0  # weight on KL f at the start of the schedule
    kl_z_start: float = 1.0  # weight on the z KL term at the start of the schedule
    kl_hold_steps: int = 0  # steps at the start weights
    kl_anneal_steps: int = 0  # steps of the linear move from the start weights to kl_f_weight, kl_z_weight
    # C-DSVAE's contrastive terms (Bai et al. 2021; dsvae.contrastive): 0 is off, the note's ELBO; >0 changes it
    contrastive_f_weight: float = 0.0  # on InfoNCE of f against f of the frame-shuffled sequence (raises I(f; x))
    contrastive_z_weight: float = 0.0  # on InfoNCE of z_1:T against the colour-jittered sequence (raises I(z; x))
    contrastive_temperature: float = 0.5  # tau dividing the cosine similarities of both InfoNCE terms
    mi_fz_weight: float = 0.0  # on C-DSVAE's penalty I(f; z_1:T), by minibatch-weighted sampling (no extra pass)
    seed: int = 0  # seeds parameters, data order and sampling (noise per step and rank: distributed.noise_seed)
    device: Device = "auto"  # "auto" (cuda if available), "cpu" or "cuda"
    precision: Precision = "fp32"  # "bf16" or "fp16" autocast on CUDA; CPUs without bf16 units run slower with it
    channels_last: bool = True  # NHWC convolutions: faster on CPU (oneDNN) and on tensor-core GPUs
    compile: bool = False  # torch.compile the model (slow first step, faster afterwards)
    log_every: int = 50  # steps between train metric lines
    eval_every: int = 500  # steps between test-set evaluations (and best-checkpoint updates)
    checkpoint_every: int = 500  # steps between "latest" checkpoints
    sample_every: int = 1000  # steps between sample grids (0 disables)
    max_bad_steps: int = 20  # consecutive non-finite steps before the run stops
    tensorboard: bool = True  # also write TensorBoard events (when the optional tensorboard package is installed)

    def __post_init__(self) -> None:
        check_finite_floats(self, "train")
        positive = ("batch_size", "max_steps", "log_every", "eval_every", "checkpoint_every", "max_bad_steps")
        check_positive(self, positive, "train")
        for name in ("warmup_steps", "kl_warmup_steps", "kl_hold_steps", "kl_anneal_steps", "sample_every"):
            if getattr(self, name) < 0:
                raise DSVAEError(f"train.{name} must be >= 0, got {getattr(self, name)}")
        if self.lr <= 0:
            raise DSVAEError(f"train.lr must be > 0, got {self.lr}")
        betas = self.betas
        if not isinstance(betas, (tuple, list)) or len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise DSVAEError(f"train.betas must be two numbers in [0, 1), like [0.9, 0.999]; got {betas!r}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise DSVAEError(f"train.min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.grad_clip < 0 or self.max_minutes < 0:
            raise DSVAEError("train.grad_clip and train.max_minutes must be >= 0")
        weights = ("kl_f_weight", "kl_z_weight", "kl_f_start", "kl_z_start")
        for name in (*weights, "contrastive_f_weight", "contrastive_z_weight", "mi_fz_weight"):
            if getattr(self, name) < 0:
                raise DSVAEError(f"train.{name} must be >= 0, got {getattr(self, name)}")
        if self.contrastive_temperature <= 0:
            raise DSVAEError(f"train.contrastive_temperature must be > 0, got {self.contrastive_temperature}")
        if not 0 <= self.ema_decay < 1:
            raise DSVAEError(f"train.ema_decay must be in [0, 1) (0 turns the average off), got {self.ema_decay}")
        check_choices(self, "train")

    @property
    def kl_weights(self) -> KLWeights:
        """The weights on the two KL terms (before any warm-up)."""
        return KLWeights(self.kl_f_weight, self.kl_z_weight)

    @property
    def contrastive(self) -> bool:
        """True when one of C-DSVAE's terms is on (each InfoNCE term costs an extra encoder pass per step)."""
        return self.contrastive_f_weight > 0 or self.contrastive_z_weight > 0 or self.mi_fz_weight > 0


@dataclass
class RunConfig:
    """Everything a run needs; written resolved into the run folder as ``config.json``."""

    model: DSVAEConfig = field(default_factory=DSVAEConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    # dotted keys of older versions, still accepted as overrides
    MOVED_KEYS: ClassVar[dict[str, str]] = {f"model.{k}": f"train.{k}" for k in MOVED_TO_TRAIN}

    @staticmethod
    def upgrade(data: dict[str, Any]) -> dict[str, Any]:
        """A run config as older versions wrote it (KL weights in the model section), in today's places."""
        model, train = data.get("model"), data.get("train", {})
        if not isinstance(model, dict) or not isinstance(train, dict) or not set(MOVED_TO_TRAIN) & set(model):
            return data
        moved = {k: v for k, v in model.items() if k in MOVED_TO_TRAIN}
        return {
            **data,
            "model": {k: v for k, v in model.items() if k not in MOVED_TO_TRAIN},
            "train": {**moved, **train},  # a train section that already names them wins
        }
