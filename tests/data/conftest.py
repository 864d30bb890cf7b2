"""Fixtures of the data tests: the shared data (skipped without it), one Sprites build per
session, a local HTTP server, and tiny fake MNIST files."""

from __future__ import annotations

import gzip
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from dsvae.data import build_sprites

# ../shared/data beside the checkout, or where DSVAE_SHARED_DATA points
SHARED_DATA = Path(os.environ.get("DSVAE_SHARED_DATA", Path(__file__).resolve().parents[2] / "../shared/data"))


def shared(name: str) -> Path:
    """A folder of the shared data, or skip the test with the reason."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"shared data {path} is missing (set DSVAE_SHARED_DATA to the folder holding {name}/)")
    return path


@pytest.fixture(scope="session")
def sheets_dir() -> Path:
    return shared("lpc-sprites")


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    return shared("mnist")


@pytest.fixture(scope="session")
def fsdd_dir() -> Path:
    return shared("fsdd/recordings")


@pytest.fixture(scope="session")
def sprites_folder(sheets_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The full Sprites set, built once per session (~10 s) and deleted after it (1.07 GiB)."""
    folder = build_sprites(tmp_path_factory.mktemp("sprites") / "sprites", sheets_dir)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; paths in ``truncate`` declare their full length but send only half of it."""

    truncate: frozenset[str] = frozenset()

    def do_GET(self) -> None:
        name = self.path.lstrip("/")
        if name not in self.truncate:
            super().do_GET()
            return
        data = (Path(self.directory) / name).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.close_connection = True

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass


@pytest.fixture
def serve() -> Iterator:
    """``serve(folder, truncate=())`` -> base URL of an HTTP server on 127.0.0.1 serving ``folder``."""
    servers = []

    def start(folder: Path, truncate: tuple[str, ...] = ()) -> str:
        handler = type("Handler", (_Handler,), {"truncate": frozenset(truncate)})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzipped idx file."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    path.write_bytes(gzip.compress(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()))


@pytest.fixture
def fake_mnist(tmp_path: Path) -> Path:
    """Tiny MNIST files whose digits are solid squares: training image i has value 1 + i % 127,
    test image i has 128 + i % 127, and each image's label is its value % 10, so a frame tells
    which images (and which file) it was drawn from."""
    folder = tmp_path / "mnist"
    folder.mkdir()
    for split, first, n in (("train", 1, 300), ("t10k", 128, 200)):
        values = first + np.arange(n) % 127
        images = np.broadcast_to(values[:, None, None], (n, 28, 28)).astype(np.uint8)
        _write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        _write_idx(folder / f"{split}-labels-idx1-ubyte.gz", (values % 10).astype(np.uint8))
    return folder


def _no_leftovers(out: Path) -> bool:
    return not out.exists() and not any(p.name.startswith(f".{out.name}.") for p in out.parent.iterdir())


@pytest.fixture
def no_leftovers() -> object:
    """``no_leftovers(out)``: True if neither ``out`` nor any temporary sibling of it exists."""
    return _no_leftovers
