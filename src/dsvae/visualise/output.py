"""Output folders of ``dsvae show`` and ``dsvae report``: checked before any work, replaced whole.

The rule the whole CLI follows: a folder named by ``--out`` must be new or empty, or hold an
earlier output of the same command (recognised by its marker file); that last one is replaced
only with ``--overwrite``. Outputs derived inside a run by default (``RUN/show``) are refreshed
without asking. Either way the new folder is built beside the old one and renamed into place,
so a kill leaves the old output or the new one, never a mixture.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dsvae.errors import DSVAEError


def check_out(out: Path, marker: str, command: str, overwrite: bool) -> None:
    """Refuse ``--out`` unless it is new, empty, or an earlier output of ``command`` (with ``overwrite``)."""
    if out.exists() and not out.is_dir():
        raise DSVAEError(f"--out {out} is a file, not a folder; choose another --out")
    if not out.exists() or not any(out.iterdir()):
        return
    if (out / marker).is_file():
        if overwrite:
            return
        raise DSVAEError(
            f"--out {out} holds an earlier `dsvae {command}` output; pass --overwrite to replace it "
            "or choose another --out"
        )
    raise DSVAEError(f"--out {out} is not empty and holds no `dsvae {command}` output ({marker}); choose another --out")


@contextmanager
def building(target: Path) -> Iterator[Path]:
    """A new empty folder beside ``target``; when the block ends without error it replaces ``target``."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    except OSError as exc:
        raise DSVAEError(f"cannot write into {target.parent}: {exc.strerror or exc}") from exc
    try:
        yield tmp
        old = tmp.with_name(tmp.name.removesuffix(".partial") + ".old")
        if target.exists():
            target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
