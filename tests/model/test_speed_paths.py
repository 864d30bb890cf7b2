"""The fast training path computes the reference model: same outputs, gradients and parameters."""

from __future__ import annotations

import copy
import dataclasses
import subprocess
import sys
import textwrap

import pytest
import torch
from torch import nn

from dsvae import DSVAE, DSVAEConfig
from dsvae.model.blocks import ConvFeatures, DeconvNet
from dsvae.train.speed import prepare_for_speed, set_fast_path

# Float32 tolerances: the fast path reduces some sums in another order (the bias gradients).
RTOL, ATOL = 1e-4, 1e-5

SHAPES = [
    dict(channels=3, image_size=64, n_channels=8),
    dict(channels=1, image_size=32, n_channels=4),
    dict(channels=3, image_size=16, n_channels=16, encoder_channels=6),
]


def shape_id(changes: dict) -> str:
    return "x".join(str(changes[k]) for k in ("image_size", "channels", "n_channels"))


@pytest.fixture
def small(tiny_config: DSVAEConfig) -> DSVAEConfig:
    return dataclasses.replace(tiny_config, n_frames=2)


def reference_and_fast(cfg: DSVAEConfig, channels_last: bool) -> tuple[DSVAE, DSVAE]:
    """The plain model and a deep copy of it prepared for speed (same parameter values)."""
    reference = set_fast_path(DSVAE(cfg), False)
    fast = prepare_for_speed(copy.deepcopy(reference), channels_last=channels_last)
    return reference, fast


def loss_and_grads(model: DSVAE, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict]:
    """Loss, decoder output, d loss / d x and d loss / d every parameter (same noise each call)."""
    x = x.detach().clone().requires_grad_()
    torch.manual_seed(1)  # the same reparameterisation noise for both models
    out = model(x)
    out.loss.backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    return out.loss, out.x_out, x.grad, grads


def assert_same_grads(ref: dict, fast: dict) -> None:
    assert ref.keys() == fast.keys()
    for name in ref:
        torch.testing.assert_close(fast[name], ref[name], rtol=RTOL, atol=ATOL, msg=lambda m, n=name: f"{n}: {m}")


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels_last"])
@pytest.mark.parametrize("changes", SHAPES, ids=shape_id)
def test_model_fast_path_matches_reference(small: DSVAEConfig, changes: dict, channels_last: bool) -> None:
    cfg = dataclasses.replace(small, **changes)
    reference, fast = reference_and_fast(cfg, channels_last)
    C, H, W = cfg.frame_shape
    x = torch.rand(2, cfg.n_frames, H, W, C).movedim(-1, -3)  # channels-last memory, as the loader gives
    ref_loss, ref_out, ref_dx, ref_grads = loss_and_grads(reference, x)
    fast_loss, fast_out, fast_dx, fast_grads = loss_and_grads(fast, x)
    torch.testing.assert_close(fast_loss, ref_loss, rtol=RTOL, atol=ATOL)
    torch.testing.assert_close(fast_out, ref_out, rtol=RTOL, atol=ATOL)
    torch.testing.assert_close(fast_dx, ref_dx, rtol=RTOL, atol=ATOL)
    assert_same_grads(ref_grads, fast_grads)


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels_last"])
@pytest.mark.parametrize("changes", SHAPES, ids=shape_id)
def test_conv_stacks_match_reference(changes: dict, channels_last: bool) -> None:
    """Module by module, with inputs of both signs so that every ReLU masks something."""
    C, S, K = changes["channels"], changes["image_size"], changes["n_channels"]
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    for reference, x in [
        (DeconvNet(C, S, K), torch.randn(3, K, 4, 4)),
        (ConvFeatures(C, S, K, dim_out=10), torch.randn(3, C, S, S)),
    ]:
        reference.fast_path = False
        fast = copy.deepcopy(reference).to(memory_format=memory_format)
        fast.fast_path = True
        outputs, grads = [], []
        y = reference(x)
        # positive, so that no gradient sums to ~0 by cancellation (relative tolerance then fails)
        upstream = torch.rand(y.shape)
        for module in (reference, fast):
            xi = x.clone().requires_grad_()
            y = module(xi)
            y.backward(upstream)
            outputs.append(y)
            grads.append([xi.grad] + [p.grad for p in module.parameters()])
        torch.testing.assert_close(outputs[1], outputs[0], rtol=RTOL, atol=ATOL)
        for g_fast, g_ref in zip(grads[1], grads[0], strict=True):
            torch.testing.assert_close(g_fast, g_ref, rtol=RTOL, atol=ATOL)


def test_fast_path_is_taken(small: DSVAEConfig) -> None:
    """The flag routes: the fast conv stacks call neither their ReLU nor their transposed-conv modules."""
    calls = {"reference": 0, "fast": 0}
    reference, fast = reference_and_fast(small, channels_last=True)
    for name, model in (("reference", reference), ("fast", fast)):
        stacks = [model.encoder.features.net.conv, model.decoder.deconv.net]  # the nn.Sequential reference
        for module in (m for stack in stacks for m in stack):
            if isinstance(module, (nn.ReLU, nn.ConvTranspose2d)):
                module.register_forward_hook(lambda *_, n=name: calls.__setitem__(n, calls[n] + 1))
        model(torch.rand(2, small.n_frames, *small.frame_shape))
    assert calls["fast"] == 0
    assert calls["reference"] > 0


def test_state_dict_unchanged_and_plain_checkpoint_loads(small: DSVAEConfig) -> None:
    plain = DSVAE(small)
    fast = prepare_for_speed(DSVAE(small), channels_last=True)
    plain_state = plain.state_dict()
    assert {k: v.shape for k, v in fast.state_dict().items()} == {k: v.shape for k, v in plain_state.items()}
    fast.load_state_dict(plain_state, strict=True)
    conv_weights = [p for p in fast.parameters() if p.dim() == 4]
    assert conv_weights and all(p.is_contiguous(memory_format=torch.channels_last) for p in conv_weights)
    x = torch.rand(2, small.n_frames, *small.frame_shape)
    torch.testing.assert_close(fast.reconstruct(x), plain.reconstruct(x), rtol=RTOL, atol=ATOL)


def test_conv_outputs_are_channels_last_when_asked(small: DSVAEConfig) -> None:
    fast = prepare_for_speed(DSVAE(small), channels_last=True)
    f, z = torch.randn(2, small.dim_f), torch.randn(2, small.n_frames, small.dim_z)
    x_mean = fast.decode(f, z)  # (B, T, C, H, W)
    assert x_mean.flatten(0, 1).is_contiguous(memory_format=torch.channels_last)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_retain_freed_memory_stops_page_faults() -> None:
    """In a fresh process (the setting is process-wide), as in training steps: allocating,
    filling and freeing a 256 MiB block again and again faults no new pages once freed memory is
    retained (after a few rounds: glibc's bins need them to hold a block that fits), and all
    65536 pages of 4 KiB every round without it."""
    script = textwrap.dedent(
        """
        import resource, sys, torch
        from dsvae.train.speed import retain_freed_memory
        applied = retain_freed_memory() if sys.argv[1] == "1" else False
        for _ in range(6):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            torch.empty(64 * 2**20).fill_(1.0)  # 256 MiB of float32: allocate, touch, free
        print(int(applied), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        """
    )
    faults = {}
    for retain in ("0", "1"):
        out = subprocess.run([sys.executable, "-c", script, retain], capture_output=True, text=True, check=True)
        applied, faults[retain] = map(int, out.stdout.split())
        assert applied == int(retain)
    pages = 256 * 2**20 // 4096
    assert faults["0"] > pages // 2
    assert faults["1"] < pages // 100


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fast_path_on_cuda_matches_cpu_reference(small: DSVAEConfig) -> None:
    """The posterior means decoded (no sampling, so CPU and CUDA agree), and their gradients."""
    reference, fast = reference_and_fast(small, channels_last=True)
    fast = fast.cuda()
    x = torch.rand(2, small.n_frames, *small.frame_shape)
    results = []
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):  # fp32 convs, as on CPU
        for model, xi in ((reference, x), (fast, x.cuda())):
            post = model.encode(xi)
            y = model.decoder(post.f_mean, post.z_mean)  # (B, T, C, H, W)
            y.square().mean().backward()
            results.append([y.detach().cpu()] + [p.grad.cpu() for p in model.parameters() if p.grad is not None])
    assert len(results[0]) == len(results[1])
    for got, want in zip(results[1], results[0], strict=True):
        torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-5)
