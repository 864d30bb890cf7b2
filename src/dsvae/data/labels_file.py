"""A user's label file: one row of class labels per sequence, turned into factors.

Two forms:

- ``.npy``: integers, shape (N,) or (N, K). Factor names come from ``names`` (default
  ``factor_0`` ...).
- ``.csv``: a header row of factor names, then one row per sequence. A column of
  non-negative integers is read as numbers; any other column is a column of class names.

The classes of a factor are the values present in its column, in increasing (or sorted)
order, and labels are their indices: a column of 0 .. K-1 stays as it is, while a column of
{3, 10^7} has two classes, not ten million. At most ``MAX_CLASSES`` classes per factor.

Each factor is static (a property of the whole sequence) unless named in ``dynamic``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dsvae.data.folder import Factor
from dsvae.errors import DSVAEError

MAX_CLASSES = 1000  # classes per factor; more is an ID column, not a factor a judge can learn


def read_labels(
    path: str | Path, n: int, names: Sequence[str] | None = None, dynamic: Sequence[str] = ()
) -> tuple[np.ndarray, list[Factor]]:
    """Labels (N, K) int64 and their factors from ``path``, which must have one row per sequence."""
    path = Path(path)
    if not path.is_file():
        raise DSVAEError(f"labels file {path} does not exist")
    if path.suffix == ".npy":
        labels, classes, header = _read_npy(path)
    elif path.suffix == ".csv":
        labels, classes, header = _read_csv(path)
    else:
        raise DSVAEError(f"labels file {path} must be .npy (integers) or .csv (with a header row)")
    if len(labels) != n:
        raise DSVAEError(f"labels file {path} has {len(labels)} rows, but there are {n} sequences")
    names = list(names) if names else header
    if len(names) != labels.shape[1]:
        raise DSVAEError(f"labels file {path} has {labels.shape[1]} columns, but {len(names)} factor names were given")
    if len(set(names)) != len(names):
        raise DSVAEError(f"factor names must be distinct, got {names}")
    unknown = sorted(set(dynamic) - set(names))
    if unknown:
        raise DSVAEError(f"dynamic factor(s) {unknown} are not among the factors of {path}: {names}")
    factors = [
        Factor(name, "dynamic" if name in dynamic else "static", cls) for name, cls in zip(names, classes, strict=True)
    ]
    return labels, factors


def _read_npy(path: Path) -> tuple[np.ndarray, list[list[str]], list[str]]:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DSVAEError(f"labels file {path} is not a readable .npy array ({exc})") from exc
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise DSVAEError(f"labels file {path} must be (N,) or (N, K), got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise DSVAEError(f"labels file {path} must hold integers, got dtype {array.dtype}")
    if array.size and array.min() < 0:
        raise DSVAEError(f"labels file {path} has negative labels; classes are numbered from 0")
    labels = np.zeros(array.shape, dtype=np.int64)
    classes = []
    for k in range(array.shape[1]):
        values, labels[:, k] = np.unique(array[:, k], return_inverse=True)
        classes.append(_class_names(path, k, [str(v) for v in values.tolist()]))
    return labels, classes, [f"factor_{k}" for k in range(labels.shape[1])]


def _class_names(path: Path, column: int, names: list[str]) -> list[str]:
    if len(names) > MAX_CLASSES:
        raise DSVAEError(
            f"labels file {path}, column {column}: {len(names)} distinct labels; a factor may have at most "
            f"{MAX_CLASSES} classes (is it an id column?)"
        )
    return names


def _read_csv(path: Path) -> tuple[np.ndarray, list[list[str]], list[str]]:
    try:
        with open(path, newline="") as fh:
            rows = [[cell.strip() for cell in row] for row in csv.reader(fh) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DSVAEError(f"labels file {path} cannot be read as CSV ({exc})") from exc
    if not rows:
        raise DSVAEError(f"labels file {path} is empty; it needs a header row of factor names")
    header, body = rows[0], rows[1:]
    for i, row in enumerate(body):
        if len(row) != len(header):
            raise DSVAEError(f"labels file {path}, line {i + 2}: {len(row)} values, the header has {len(header)}")
        if "" in row:
            raise DSVAEError(f"labels file {path}, line {i + 2}: an empty value in column {header[row.index('')]!r}")
    columns = list(zip(*body, strict=True)) if body else [() for _ in header]
    labels = np.zeros((len(body), len(header)), dtype=np.int64)
    classes = []
    for k, column in enumerate(columns):
        numbers = all(cell.isascii() and cell.isdigit() for cell in column)  # non-negative integers
        values = [int(cell) for cell in column] if numbers else list(column)  # "07" and "7" are one class
        present = sorted(set(values))
        index = {value: c for c, value in enumerate(present)}
        labels[:, k] = [index[v] for v in values]
        classes.append(_class_names(path, k, [str(v) for v in present]))
    return labels, classes, header
