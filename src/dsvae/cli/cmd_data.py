"""``dsvae data NAME --out DIR``: build a data folder (see ``docs/data.md``).

Names: ``sprites``, ``moving-mnist``, ``fsdd``, ``shapes`` (built-in sets) and ``array``,
``frames`` (a user's own data). Downloads (Sprites sheets, MNIST files) are cached in
``--cache`` (default ``$XDG_CACHE_HOME/dsvae`` or ``~/.cache/dsvae``) and verified.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from dsvae.data import (
    build_from_array,
    build_from_frames,
    build_fsdd,
    build_moving_mnist,
    build_shapes,
    build_sprites,
    moving_mnist_from_npy,
    read_info,
)
from dsvae.data.folder import META_NAME
from dsvae.data.mnist import DEFAULT_BASE_URL as MNIST_URL
from dsvae.data.mnist import download_mnist
from dsvae.data.shapes import WOBBLE
from dsvae.data.sprite_sheets import DEFAULT_BASE_URL as SHEETS_URL
from dsvae.data.sprite_sheets import SPRITES_COMMIT, download_sheets
from dsvae.errors import DSVAEError
from dsvae.outputs import check_output_folder


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="build a data folder: sprites, moving-mnist, fsdd, shapes, or your own data")
    names = p.add_subparsers(dest="dataset", required=True, metavar="NAME")
    _sprites(names.add_parser("sprites", help="the DSA paper's Sprites benchmark, from the LPC sheets"))
    _moving_mnist(names.add_parser("moving-mnist", help="MNIST digits bouncing in 64x64 (or mnist_test_seq.npy)"))
    _fsdd(names.add_parser("fsdd", help="Free Spoken Digit Dataset as log-mel sequences"))
    _shapes(names.add_parser("shapes", help="a synthetic set of moving shapes; no download"))
    _array(names.add_parser("array", help="your own (N,T,H,W,C) / (N,T,V) array file"))
    _frames(names.add_parser("frames", help="your own folder of frame folders, one per sequence"))


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", required=True, type=Path, help="the data folder to write (new or empty)")
    p.add_argument(
        "--overwrite", action="store_true", help="replace an earlier data folder at --out (only once the build is done)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _checked(build: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Apply the output-folder rule to --out before any download or build."""

    def run(args: argparse.Namespace) -> int:
        check_output_folder(args.out, META_NAME, args.overwrite, "data folder", "data")
        return build(args)

    return run


def _download_options(p: argparse.ArgumentParser, base_url: str) -> None:
    p.add_argument("--cache", metavar="DIR", type=Path, default=None, help="download cache (default: ~/.cache/dsvae)")
    p.add_argument("--base-url", metavar="URL", default=base_url, help=f"where to download from (default: {base_url})")
    p.add_argument(
        "--no-verify", action="store_true", help="accept source files whose digests differ from the pinned ones"
    )


def _split_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--test-fraction",
        metavar="F",
        type=float,
        default=0.1,
        help="share of sequences for the test split (default 0.1)",
    )
    p.add_argument("--seed", metavar="N", type=int, default=0, help="seed of the random train/test split")


def _label_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--labels", metavar="FILE", type=Path, help=".npy (N,) / (N,K) ints, or .csv with a header row of factor names"
    )
    p.add_argument("--factor-names", metavar="NAMES", type=_names, help="comma-separated names of the label columns")
    p.add_argument(
        "--dynamic", metavar="NAMES", type=_names, default=[], help="comma-separated factors that are dynamic (motion)"
    )


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _sprites(p: argparse.ArgumentParser) -> None:
    _common(p)
    p.add_argument("--sheets", metavar="DIR", type=Path, help="folder of the LPC sheet layers (default: download them)")
    _download_options(p, SHEETS_URL)
    p.set_defaults(func=_checked(run_sprites))


def _moving_mnist(p: argparse.ArgumentParser) -> None:
    _common(p)
    p.add_argument(
        "--mnist", metavar="DIR", type=Path, help="folder of the MNIST idx files, .gz or not (default: download them)"
    )
    p.add_argument(
        "--from-npy", metavar="FILE", type=Path, help="instead: read a (T,N,64,64) uint8 file like mnist_test_seq.npy"
    )
    p.add_argument("--digits", metavar="N", type=int, default=2, help="digits per canvas (default 2)")
    p.add_argument("--frames", metavar="T", type=int, default=8, help="frames per sequence (default 8)")
    p.add_argument("--speed", type=float, nargs=2, default=(2.0, 5.0), metavar=("LOW", "HIGH"),
                   help="range of the digits' speeds, pixels per frame (default 2 5)")  # fmt: skip
    p.add_argument("--train", metavar="N", type=int, default=10000, help="training sequences (default 10000)")
    p.add_argument("--test", metavar="N", type=int, default=2000, help="test sequences (default 2000)")
    p.add_argument("--seed", metavar="N", type=int, default=0, help="seed of the generator (and of --from-npy's split)")
    p.add_argument(
        "--test-fraction", metavar="F", type=float, default=0.1, help="with --from-npy: share for the test split"
    )
    _download_options(p, MNIST_URL)
    p.set_defaults(func=_checked(run_moving_mnist))


def _fsdd(p: argparse.ArgumentParser) -> None:
    _common(p)
    p.add_argument(
        "--recordings", metavar="DIR", type=Path, required=True, help="FSDD's recordings/ folder of wav files"
    )
    p.add_argument(
        "--frames", metavar="T", type=int, default=32, help="log-mel frames per sequence, 20 ms apart (default 32)"
    )
    p.add_argument("--mels", metavar="N", type=int, default=80, help="mel bins per frame (default 80)")
    p.set_defaults(func=_checked(run_fsdd))


def _shapes(p: argparse.ArgumentParser) -> None:
    _common(p)
    p.add_argument("--train", metavar="N", type=int, default=2000, help="training sequences (default 2000)")
    p.add_argument("--test", metavar="N", type=int, default=500, help="test sequences (default 500)")
    p.add_argument("--frames", metavar="T", type=int, default=8, help="frames per sequence (default 8)")
    p.add_argument("--size", metavar="PIXELS", type=int, default=32, help="canvas size in pixels (default 32)")
    p.add_argument("--seed", metavar="N", type=int, default=0, help="seed of the generator")
    p.add_argument(
        "--wobble",
        metavar="PIXELS",
        type=int,
        default=WOBBLE,
        help=f"largest sideways shift of the shape in each frame (default {WOBBLE}; 0 draws straight paths)",
    )
    p.set_defaults(func=_checked(run_shapes))


def _array(p: argparse.ArgumentParser) -> None:
    _common(p)
    p.add_argument(
        "--from-array", metavar="FILE", type=Path, required=True, help=".npy or .npz (key 'frames') array file"
    )
    p.add_argument("--name", metavar="NAME", default="array", help="data set name recorded in meta.json")
    _label_options(p)
    _split_options(p)
    p.set_defaults(func=_checked(run_array))


def _frames(p: argparse.ArgumentParser) -> None:
    _common(p)
    p.add_argument(
        "--from-frames",
        metavar="DIR",
        type=Path,
        required=True,
        help="folder with one folder of image frames per sequence",
    )
    p.add_argument("--name", metavar="NAME", default="frames", help="data set name recorded in meta.json")
    p.add_argument("--frames", metavar="T", type=int, help="keep the first T frames of each sequence (default: all)")
    p.add_argument(
        "--size", metavar="PIXELS", type=int, help="resize frames to SIZE x SIZE (default: keep; all must match)"
    )
    p.add_argument("--channels", type=int, choices=(1, 3), help="1 grayscale or 3 RGB (default: as the first frame)")
    _label_options(p)
    _split_options(p)
    p.set_defaults(func=_checked(run_frames))


def cache_dir(args: argparse.Namespace, name: str) -> Path:
    """The download cache of ``name``: ``--cache``, else $XDG_CACHE_HOME/dsvae, else ~/.cache/dsvae."""
    root = args.cache or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dsvae"
    return root / name


def _report(out: Path) -> int:
    info = read_info(out)
    splits = ", ".join(f"{split} {n}" for split, n in info.splits.items())
    print(f"wrote {out}: {info.name}, {splits} sequences of {info.n_frames} frames {info.frame_shape}")
    return 0


def run_sprites(args: argparse.Namespace) -> int:
    sheets = args.sheets
    if sheets is None:
        sheets = download_sheets(cache_dir(args, f"sprites-{SPRITES_COMMIT[:7]}"), args.base_url, not args.quiet)
    return _report(build_sprites(args.out, sheets, verify=not args.no_verify, progress=not args.quiet))


def run_moving_mnist(args: argparse.Namespace) -> int:
    if args.from_npy is not None:
        out = moving_mnist_from_npy(args.out, args.from_npy, args.test_fraction, args.seed, progress=not args.quiet)
        return _report(out)
    folder = args.mnist or download_mnist(cache_dir(args, "mnist"), args.base_url)
    out = build_moving_mnist(
        args.out, folder, n_train=args.train, n_test=args.test, n_frames=args.frames, n_digits=args.digits,
        speed=tuple(args.speed), seed=args.seed, verify=not args.no_verify, progress=not args.quiet,
    )  # fmt: skip
    return _report(out)


def run_fsdd(args: argparse.Namespace) -> int:
    return _report(build_fsdd(args.out, args.recordings, args.frames, args.mels, progress=not args.quiet))


def run_shapes(args: argparse.Namespace) -> int:
    for name in ("train", "test", "frames", "size"):
        if getattr(args, name) < 1:
            raise DSVAEError(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.wobble < 0:
        raise DSVAEError(f"--wobble must be >= 0 pixels, got {args.wobble}")
    try:
        out = build_shapes(args.out, args.train, args.test, args.frames, args.size, args.seed, args.wobble)
    except ValueError as exc:  # a path that does not fit in the canvas
        raise DSVAEError(str(exc)) from exc
    return _report(out)


def run_array(args: argparse.Namespace) -> int:
    out = build_from_array(
        args.out, args.from_array, args.labels, args.factor_names, args.dynamic, args.test_fraction, args.seed,
        name=args.name, progress=not args.quiet,
    )  # fmt: skip
    return _report(out)


def run_frames(args: argparse.Namespace) -> int:
    out = build_from_frames(
        args.out, args.from_frames, args.labels, args.factor_names, args.dynamic, n_frames=args.frames,
        size=args.size, channels=args.channels, test_fraction=args.test_fraction, seed=args.seed, name=args.name,
        progress=not args.quiet,
    )  # fmt: skip
    return _report(out)
