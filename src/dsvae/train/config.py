"""Configuration of a training run: the data section, the training section, and the whole."""

from __future__ import annotations

from dataclasses import dataclass, field

from dsvae.config import DSVAEConfig, _check_choice, check_finite_floats
from dsvae.errors import DSVAEError

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("fp32", "bf16", "fp16")
SCHEDULES = ("constant", "cosine")


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
    schedule: str = "cosine"  # learning-rate schedule after warm-up: "constant" or "cosine" to lr * min_lr_ratio
    warmup_steps: int = 100  # linear learning-rate warm-up from 0, steadies Adam's first steps
    min_lr_ratio: float = 0.1  # the cosine schedule's final lr as a fraction of lr
    max_steps: int = 10000  # optimisation steps in all (the schedule's length)
    max_minutes: float = 0.0  # wall-clock budget; >0 stops (and checkpoints) when it is spent
    grad_clip: float = 10.0  # clip the global gradient norm; guards against rare large steps
    kl_warmup_steps: int = 0  # >0: scale both KL terms linearly from 0 to their weight (changes the objective early on)
    seed: int = 0  # seeds parameters, data order and sampling (noise per step and rank: distributed.noise_seed)
    device: str = "auto"  # "auto" (cuda if available), "cpu" or "cuda"
    precision: str = "fp32"  # "bf16" or "fp16" autocast on CUDA; CPUs without bf16 units run slower with it
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
        for name in ("batch_size", "max_steps", "log_every", "eval_every", "checkpoint_every", "max_bad_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise DSVAEError(f"train.{name} must be a positive integer, got {value!r}")
        for name in ("warmup_steps", "kl_warmup_steps", "sample_every"):
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
        _check_choice(self, "device", DEVICES, prefix="train")
        _check_choice(self, "precision", PRECISIONS, prefix="train")
        _check_choice(self, "schedule", SCHEDULES, prefix="train")


@dataclass
class RunConfig:
    """Everything a run needs; written resolved into the run folder as ``config.json``."""

    model: DSVAEConfig = field(default_factory=DSVAEConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
