"""Output folders of ``dsvae show`` and ``dsvae report``: checked before any work, replaced whole
(built by :func:`dsvae.outputs.staged_folder`, the one staging mechanism of the package).

The rule the whole CLI follows: a folder named by ``--out`` must be new or empty, or hold an
earlier output of the same command (recognised by its marker file); that last one is replaced
only with ``--overwrite``. Outputs derived inside a run by default (``RUN/show``) are refreshed
without asking. Either way the new folder is built beside the old one and renamed into place,
so a kill leaves the old output or the new one, never a mixture.
"""

from __future__ import annotations

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
