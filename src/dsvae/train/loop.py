"""The training loop: one code path for a CPU, a GPU and N processes under torchrun (DDP).

Per step: a batch from the resumable sampler, the negative ELBO (KL terms optionally warmed
up; C-DSVAE's contrastive terms added when their weights are > 0, :mod:`dsvae.contrastive`),
backward, a non-finite guard, gradient clipping, Adam with the scheduled learning rate.
Rank 0 alone writes the run folder: metrics, log, checkpoints (latest and best by test ELBO),
sample grids. Evaluation and sampling run under ``torch.random.fork_rng`` so that how often
they run never changes the training stream: a resumed run repeats the uninterrupted one.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from dsvae.config import to_dict
from dsvae.contrastive import info_nce, jitter_colours, mws_mutual_information, shuffle_frames
from dsvae.data import SequenceDataset
from dsvae.data.folder import read_info
from dsvae.errors import DSVAEError
from dsvae.io import write_json
from dsvae.model import DSVAE
from dsvae.model.dsvae import DSVAEOutput
from dsvae.objective import elbo_terms
from dsvae.outputs import sweep_partials
from dsvae.pretrained import model_card
from dsvae.run_config import RunConfig
from dsvae.run_folder import CHECKPOINTS, CONFIG_NAME, SAMPLES, SUMMARY_NAME, check_run_folder, json_safe
from dsvae.schedule import kl_weights, learning_rate
from dsvae.train import distributed as dist_utils
from dsvae.train.checkpoint import check_trainer_state, find_checkpoint, load_checkpoint, save_checkpoint
from dsvae.train.distributed import DistInfo
from dsvae.train.ema import WeightAverage
from dsvae.train.logger import RunLogger
from dsvae.train.run_lock import RunLock
from dsvae.train.sampler import StepBatchSampler
from dsvae.train.speed import prepare_for_speed, retain_freed_memory

TERMS = ("loss", "elbo", "recon", "kl_f", "kl_z")
# draws the sample grids of a batch: (model, x (B, T, *frame), folder, tag) -> the files written
SampleWriter = Callable[[DSVAE, torch.Tensor, Path, str], list[Path]]
N_SAMPLE_SEQUENCES = 8  # test sequences shown in the sample grids


@dataclass
class TrainResult:
    """How a call to :meth:`Trainer.run` ended."""

    step: int  # optimisation steps done in all (including before a resume)
    stopped: str  # "finished", "budget", "interrupted" or "steps"
    skipped_steps: int  # steps skipped for a non-finite loss or gradient, in all
    ranks_in_sync: bool  # every DDP process ends with the same weights (always True for one process)
    last_train: dict[str, float] = field(default_factory=dict)
    last_test: dict[str, float] = field(default_factory=dict)
    best_test_elbo: float | None = None


def resolve_device(name: str, dist: DistInfo) -> torch.device:
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise DSVAEError("train.device=cuda but no CUDA device is available; use train.device=cpu")
        return torch.device("cuda", dist.local_rank)
    return torch.device("cpu")


class Trainer:
    """Trains a DSVAE on a data folder into a run folder.

    Args:
        cfg: the resolved run config (``cfg.data.path`` names the data folder).
        run_dir: the run folder (created; must be new unless ``resume``).
        dist: this process's place in a torchrun job.
        resume: continue from ``run_dir/checkpoints/latest``.
        should_stop: polled every step (e.g. set by a SIGINT handler); stops with a checkpoint.
        max_new_steps: stop (with a checkpoint) after this many steps in this call.
        echo: print progress and log lines to the console.
        write_samples: draws the sample grids every ``train.sample_every`` steps (the CLI passes
            :func:`dsvae.visualise.samples.write_samples`); None draws none.

    Making a Trainer only checks its arguments (nothing is opened, created or locked);
    :meth:`run` locks the run folder, opens the data, builds the model and trains.
    """

    def __init__(
        self,
        cfg: RunConfig,
        run_dir: str | Path,
        dist: DistInfo | None = None,
        resume: bool = False,
        should_stop: Callable[[], bool] | None = None,
        max_new_steps: int | None = None,
        echo: bool = True,
        write_samples: SampleWriter | None = None,
    ) -> None:
        self.cfg, self.run_dir = cfg, Path(run_dir)
        self.dist = dist or DistInfo()
        self.resume, self.should_stop, self.max_new_steps = resume, should_stop, max_new_steps
        if max_new_steps is not None and (not isinstance(max_new_steps, int) or max_new_steps < 1):
            raise DSVAEError(f"the number of steps to run (--steps) must be a positive integer, got {max_new_steps!r}")
        self.device = resolve_device(cfg.train.device, self.dist)
        if cfg.train.precision == "fp16" and self.device.type != "cuda":
            raise DSVAEError("train.precision=fp16 needs a CUDA device; use fp32 (or bf16) on CPU")
        self.lock = RunLock(self.run_dir)
        self.lock.check_free()  # "being trained" says more than "already holds a run"
        check_run_folder(self.run_dir, resume)
        self._check_data()
        self.log = RunLogger(self.run_dir, enabled=self.dist.is_main, echo=echo, tensorboard=cfg.train.tensorboard)
        self.echo, self.sample_writer = echo, write_samples

    # -- set-up ------------------------------------------------------------------------------

    def _check_data(self) -> None:
        """Refuse a data folder that does not fit the model, from its meta.json alone."""
        path = self.cfg.data.path
        if not path:
            raise DSVAEError("no data folder given: pass --data DIR (a folder written by `dsvae data`)")
        info = read_info(path)
        got, want = info.model_frame_shape, self.cfg.model.frame_shape
        if got != want or info.n_frames != self.cfg.model.n_frames:
            hint = "model.frame_dim" if info.layout == "vector" else "model.channels / model.image_size"
            raise DSVAEError(
                f"data folder {path} has {info.n_frames} frames of shape {got}, but the model expects "
                f"{self.cfg.model.n_frames} of {want}; set model.n_frames and {hint} to match"
            )
        need = self.cfg.train.batch_size * self.dist.world_size
        if info.splits.get("train", 0) < need:
            raise DSVAEError(
                f"the training split has {info.splits.get('train', 0)} sequences, fewer than one global batch ({need})"
            )

    def _open_data(self) -> None:
        path = self.cfg.data.path
        self.train_set = SequenceDataset(path, "train")
        self.test_set = SequenceDataset(path, "test") if "test" in self.train_set.info.splits else None

    def _build(self) -> None:
        tc = self.cfg.train
        torch.manual_seed(tc.seed)
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        if self.device.type == "cpu":
            retain_freed_memory()  # keep large freed activations mapped: no page faults every step
        self.model = DSVAE(self.cfg.model).to(self.device)
        self.model.check_values = False  # no per-step host sync: the data folder was checked when opened
        self.model = prepare_for_speed(self.model, channels_last=tc.channels_last)
        self.average = WeightAverage(self.model, tc.ema_decay) if tc.ema_decay > 0 else None
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=tc.lr, betas=tc.betas, weight_decay=tc.weight_decay
        )
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=tc.precision == "fp16")
        self.step, self.skipped, self.bad_in_row = 0, 0, 0
        self.best_elbo: float | None = None
        if self.resume:
            self._load_latest()
        net: torch.nn.Module = self.model
        if self.dist.enabled:
            dev_ids = [self.device.index] if self.device.type == "cuda" else None
            net = DistributedDataParallel(net, device_ids=dev_ids)  # broadcasts rank 0's weights to every process
        self.net = torch.compile(net) if tc.compile else net

    def _load_latest(self) -> None:
        folder = find_checkpoint(self.run_dir / CHECKPOINTS / "latest")
        if folder is None:
            # killed before its first checkpoint: nothing to lose by starting over, with the saved config
            self.log.info(f"{self.run_dir} has no checkpoint yet (stopped before the first): starting it from step 0")
            self.log.trim_metrics(0)
            return
        average = self.average.module if self.average is not None else None
        state = load_checkpoint(folder, self.model, self.optimizer, self.scaler, average=average)
        state = check_trainer_state(state, folder)
        self.step, self.skipped, self.best_elbo = state["step"], state["skipped_steps"], state["best_test_elbo"]
        self.log.trim_metrics(self.step)
        self.log.info(f"resumed from {folder} at step {self.step}")

    def _autocast(self) -> contextlib.AbstractContextManager:
        precision = self.cfg.train.precision
        if precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if precision == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    # -- one step ----------------------------------------------------------------------------

    def train_step(self, x: torch.Tensor) -> dict[str, float] | None:
        """One optimisation step on this process's batch; None if it was skipped (non-finite)."""
        tc = self.cfg.train
        # each rank its own noise, and a resume repeats it exactly (data order comes from the sampler)
        torch.manual_seed(dist_utils.noise_seed(tc.seed, self.dist.rank, self.step))
        lr = learning_rate(self.step, tc)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.model.train()
        weights = kl_weights(self.step, tc)
        with self._autocast():
            # the one place the loss is made: the logged "loss" is the one minimised, warm-up included
            out = self.net(x)
            terms = elbo_terms(out, x, weights).as_dict()
            if tc.contrastive:  # off by default: no augmented views, no extra passes
                terms = self._add_contrastive(terms, out, x)
        t = {k: v.float() for k, v in terms.items()}
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(t["loss"]).backward()  # always: DDP needs every rank in the all-reduce
        self.scaler.unscale_(self.optimizer)
        max_norm = tc.grad_clip if tc.grad_clip > 0 else math.inf
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm)
        checked = [k for k in t if k not in ("loss", "elbo")] + ["loss"]  # each term, then their sum
        bad_term = next((k for k in checked if not torch.isfinite(t[k])), None)
        if bad_term is None and not torch.isfinite(grad_norm):
            bad_term = "gradient"
        if dist_utils.any_flag(bad_term is not None, self.dist, self.device):
            self._skip(bad_term or "loss on another process")
            return None
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.average is not None:
            self.average.update(self.model, self.step)
        self.bad_in_row = 0
        values = {k: v.item() for k, v in t.items()}
        values.update(lr=lr, grad_norm=grad_norm.item(), kl_f_weight=weights.f, kl_z_weight=weights.z)
        return values

    def _add_contrastive(
        self, terms: dict[str, torch.Tensor], out: DSVAEOutput, x: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """``terms`` with C-DSVAE's terms ``nce_f``, ``nce_z``, ``mi_fz`` (those whose weight is > 0) in the loss.

        Each InfoNCE term encodes one augmented view of ``x`` (posterior means, with gradients) and
        compares it with the posterior of ``x`` itself (from the step's forward pass ``out``); the
        penalty on I(f; z_1:T) reads that pass's samples and posteriors alone. The views'
        randomness has its own generator, seeded from (seed, rank, step) like the noise, so ranks
        differ, a resume repeats them, and the global noise stream is untouched. The encoder runs
        outside the DDP wrapper: its parameters' gradients still sum both uses before DDP reduces them.
        """
        tc = self.cfg.train
        seed = dist_utils.noise_seed(tc.seed, self.dist.rank, self.step, dist_utils.AUGMENT_STREAM)
        generator = torch.Generator(device=self.device).manual_seed(seed)
        terms, loss, post = dict(terms), terms["loss"], out.posterior
        if tc.contrastive_f_weight > 0:
            view = self.model.encode(shuffle_frames(x, generator))  # content kept, motion destroyed
            terms["nce_f"] = info_nce(post.f_mean, view.f_mean, tc.contrastive_temperature)
            loss = loss + tc.contrastive_f_weight * terms["nce_f"]
        if tc.contrastive_z_weight > 0:
            bounded = self.cfg.model.likelihood == "bernoulli"
            view = self.model.encode(jitter_colours(x, generator, bounded))  # motion kept, appearance changed
            # z_1:T compared by its time mean (B, Z); dsvae.contrastive gives the reading of the paper
            terms["nce_z"] = info_nce(post.z_mean.mean(1), view.z_mean.mean(1), tc.contrastive_temperature)
            loss = loss + tc.contrastive_z_weight * terms["nce_z"]
        if tc.mi_fz_weight > 0:
            terms["mi_fz"] = mws_mutual_information(out.f, out.z, post)
            loss = loss + tc.mi_fz_weight * terms["mi_fz"]
        terms["loss"] = loss
        return terms

    def _skip(self, term: str) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.skipped += 1
        self.bad_in_row += 1
        self.log.info(f"step {self.step}: non-finite {term}; step skipped ({self.bad_in_row} in a row)")
        if self.bad_in_row >= self.cfg.train.max_bad_steps:
            none = " (no update was made)" if self.step == 0 else ""
            raise DSVAEError(
                f"training stopped at step {self.step}{none}: {self.bad_in_row} steps in a row had a non-finite "
                f"{term}; lower train.lr, or check the data for NaN/inf"
            )

    # -- evaluation, checkpoints, samples ------------------------------------------------------

    @property
    def eval_model(self) -> DSVAE:
        """What is evaluated, sampled and saved as the run's model: the weight average if kept, else the weights."""
        return self.average.module if self.average is not None else self.model

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Mean test-set terms (nats per sequence) of :attr:`eval_model`, over every process's shard."""
        if self.test_set is None:
            return {}
        model = self.eval_model
        model.eval()
        n = len(self.test_set)
        bs = self.cfg.train.batch_size
        limit = self.cfg.data.test_batches
        totals = torch.zeros(len(TERMS) + 1, device=self.device, dtype=torch.float64)
        mine = list(range(self.dist.rank, n, self.dist.world_size))
        batches = [mine[i : i + bs] for i in range(0, len(mine), bs)]
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            torch.manual_seed(self.cfg.train.seed + 1)
            for b, idx in enumerate(batches):
                if limit and b >= limit:
                    break
                x = self.test_set.get_batch(idx)["x"].to(self.device)
                with self._autocast():
                    terms = elbo_terms(model(x), x, self.cfg.train.kl_weights).as_dict()
                for i, k in enumerate(TERMS):
                    totals[i] += terms[k].double() * len(idx)
                totals[-1] += len(idx)
        dist_utils.all_reduce_sum(totals, self.dist)
        count = max(totals[-1].item(), 1.0)
        return {k: totals[i].item() / count for i, k in enumerate(TERMS)}

    def _trainer_state(self) -> dict[str, object]:
        return {"step": self.step, "skipped_steps": self.skipped, "best_test_elbo": self.best_elbo}

    def save(self, which: str = "latest") -> None:
        if self.dist.is_main:
            folder = self.run_dir / CHECKPOINTS / which
            scores = {"best test ELBO (nats per sequence)": self.best_elbo} if self.best_elbo is not None else None
            card = model_card(self.train_set.info.name, self.step, to_dict(self.cfg), scores)
            training = self.model if self.average is not None else None
            save_checkpoint(folder, self.eval_model, self.optimizer, self._trainer_state(), self.scaler, card, training)

    def write_samples(self) -> None:
        if not self.dist.is_main or self.cfg.train.sample_every == 0 or self.sample_writer is None:
            return
        source = self.test_set or self.train_set
        idx = list(range(min(N_SAMPLE_SEQUENCES, len(source))))
        x = source.get_batch(idx)["x"].to(self.device)
        model = self.eval_model
        model.eval()
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            torch.manual_seed(self.cfg.train.seed + 2)
            paths = self.sample_writer(model, x, self.run_dir / SAMPLES, f"step{self.step:07d}")
        self.log.images(self.step, paths)

    # -- the loop ------------------------------------------------------------------------------

    def _loader(self, epoch: int, start: int) -> DataLoader:
        sampler = StepBatchSampler(
            len(self.train_set), self.cfg.train.batch_size, self.cfg.train.seed, epoch,
            self.dist.rank, self.dist.world_size, start,
        )  # fmt: skip
        workers = self.cfg.data.num_workers
        # the sampler yields index lists and dataset[list] reads a whole batch in one memory-mapped slice
        return DataLoader(
            self.train_set, sampler=sampler, batch_size=None, num_workers=workers,
            pin_memory=self.device.type == "cuda", persistent_workers=False,
            prefetch_factor=4 if workers > 0 else None,
            # its own generator: making an iterator must not draw from the global RNG (exact resume)
            generator=torch.Generator().manual_seed(self.cfg.train.seed + epoch),
        )  # fmt: skip

    def _stop_reason(self, started: float, new_steps: int) -> str | None:
        tc = self.cfg.train
        reason = None
        if self.step >= tc.max_steps:
            reason = "finished"
        elif self.max_new_steps is not None and new_steps >= self.max_new_steps:
            reason = "steps"
        elif tc.max_minutes > 0 and time.time() - started > 60 * tc.max_minutes:
            reason = "budget"
        elif self.should_stop is not None and self.should_stop():
            reason = "interrupted"
        # every process stops together: a request seen by any process stops all of them
        if dist_utils.any_flag(reason is not None, self.dist, self.device) and reason is None:
            reason = "interrupted"
        return reason

    def run(self) -> TrainResult:
        """Train until max_steps, the time budget, max_new_steps or a stop request; checkpoint; return."""
        dist_utils.init(self.dist, self.device)
        finished = False
        try:
            self._open_data()  # before the lock: a refused data folder leaves the run folder untouched
            self._own_folder()
            self._build()
            self.log.open()  # after the checkpoint loaded: a refused resume leaves the run as it was
            if self.dist.is_main and not self.resume:
                write_json(self.run_dir / CONFIG_NAME, to_dict(self.cfg))
                self.log.info(f"run folder {self.run_dir}; parameters {self.model.num_parameters()}")
            result = self._loop()
            finished = True
            return result
        finally:
            try:
                self.close(finished)
            finally:
                self.lock.release()

    def close(self, finished: bool) -> None:
        """Close the log and leave the process group; ``finished``: every process got here normally."""
        self.log.close()
        if self.dist.enabled and hasattr(self, "net"):
            del self.net  # DDP's reducer holds the process group: let it go before the group is destroyed
        # on a normal finish every process waits for the others before leaving the group, so no
        # process tears gloo down while a peer still talks to it; after an error one process may be
        # gone already, and a barrier would hang the rest
        dist_utils.shutdown(self.dist, wait=finished)

    def _own_folder(self) -> None:
        """Rank 0 locks the run folder (every process stops if it cannot) and sweeps killed writes."""
        refused: DSVAEError | None = None
        if self.dist.is_main:
            try:
                self.lock.acquire()
                check_run_folder(self.run_dir, self.resume)  # again, now that no one else can write it
            except DSVAEError as exc:
                refused = exc
        if dist_utils.any_flag(refused is not None, self.dist, self.device):
            raise refused or DSVAEError("the run folder is in use (see the first process's error)")
        if not self.dist.is_main:
            return
        if self.lock.stale_pid is not None:
            self.log.info(f"took over the lock of process {self.lock.stale_pid}, which is no longer running")
        for which in ("latest", "best"):
            for path in sweep_partials(self.run_dir / CHECKPOINTS / which):
                self.log.info(f"removed {path.name}, left by a killed checkpoint write")

    def _loop(self) -> TrainResult:
        tc = self.cfg.train
        per_epoch = StepBatchSampler.batches_per_epoch(len(self.train_set), tc.batch_size, self.dist.world_size)
        started, new_steps = time.time(), 0
        last_train: dict[str, float] = {}
        last_test: dict[str, float] = {}
        window: list[dict[str, float]] = []
        tick, tick_steps = time.time(), 0
        bar = tqdm(total=tc.max_steps, initial=self.step, disable=not (self.dist.is_main and self.echo),
                   dynamic_ncols=True, unit="step")  # fmt: skip
        stopped = self._stop_reason(started, new_steps)
        while stopped is None:
            # batches read so far = updates + skipped batches: a skipped step is not an update, but
            # its batch is consumed, so the data order of a resumed run stays the uninterrupted one's
            epoch, start = divmod(self.step + self.skipped, per_epoch)
            for batch in self._loader(epoch, start):
                values = self.train_step(batch["x"].to(self.device, non_blocking=True))
                if values is not None:
                    self.step += 1
                    window.append(values)
                    new_steps += 1
                tick_steps += 1
                bar.update(1)
                if values is not None and (self.step % tc.log_every == 0 or self.step == tc.max_steps):
                    elapsed = time.time() - tick
                    last_train = {k: sum(w[k] for w in window) / len(window) for k in window[0]}
                    last_train["seq_per_s"] = tick_steps * tc.batch_size * self.dist.world_size / max(elapsed, 1e-9)
                    self.log.metrics(self.step, "train", last_train)
                    bar.set_postfix({k: f"{last_train[k]:.4g}" for k in ("loss", "recon", "kl_f", "kl_z", "seq_per_s")})
                    window, tick, tick_steps = [], time.time(), 0
                if values is not None:
                    last_test = self._periodic(last_test)
                stopped = self._stop_reason(started, new_steps)
                if stopped is not None:
                    break
        bar.close()
        return self._finish(stopped, last_train, last_test)

    def _periodic(self, last_test: dict[str, float]) -> dict[str, float]:
        tc = self.cfg.train
        at_end = self.step >= tc.max_steps
        if self.step % tc.eval_every == 0 or at_end:
            last_test = self.evaluate()
            if last_test:
                self.log.metrics(self.step, "test", last_test)
                self.log.info(f"step {self.step} test: {RunLogger.format_terms(last_test)}", console=False)
                if not math.isfinite(last_test["elbo"]):
                    # a NaN compares False with everything: taken as best it would freeze "best" for ever
                    self.log.info(f"step {self.step}: the test ELBO is {last_test['elbo']}; best checkpoint kept")
                elif self.best_elbo is None or last_test["elbo"] > self.best_elbo:
                    self.best_elbo = last_test["elbo"]
                    self.save("best")
        if self.step % tc.checkpoint_every == 0:
            self.save("latest")
        if tc.sample_every and (self.step % tc.sample_every == 0 or at_end):
            self.write_samples()
        return last_test

    def _finish(self, stopped: str, last_train: dict[str, float], last_test: dict[str, float]) -> TrainResult:
        self.save("latest")
        in_sync = dist_utils.parameters_in_sync(self.model, self.dist, self.device)
        result = TrainResult(self.step, stopped, self.skipped, in_sync, last_train, last_test, self.best_elbo)
        summary = (
            f"stopped ({stopped}) at step {self.step}; skipped steps {self.skipped}; "
            f"ranks in sync: {'yes' if in_sync else 'NO'}; best test ELBO "
            f"{'n/a' if self.best_elbo is None else f'{self.best_elbo:.2f}'}"
        )
        self.log.info(summary)
        finals = {"best_test_elbo": self.best_elbo, "train_loss": last_train.get("loss"), "step": self.step}
        self.log.hparams(to_dict(self.cfg), {k: v for k, v in finals.items() if v is not None})
        if self.dist.is_main:
            write_json(self.run_dir / SUMMARY_NAME, json_safe(result.__dict__))
        return result
