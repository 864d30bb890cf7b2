"""The Sprites sheets: bad sheets give one clear error, and downloads are verified and atomic."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dsvae.data import build_sprites, download_sheets
from dsvae.data.download import file_digest
from dsvae.data.sprite_sheets import SHEET_SHA256, read_sheets
from dsvae.data.sprites import composite_cell
from dsvae.errors import DSVAEError


@pytest.fixture
def sheets_copy(sheets_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the recipe's 25 sheets, safe to damage."""
    folder = tmp_path / "sheets"
    for name in SHEET_SHA256:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sheets_dir / name, folder / name)
    return folder


def test_pinned_hashes_match_the_shared_copy(sheets_dir: Path) -> None:
    for name, sha in SHEET_SHA256.items():
        assert file_digest(sheets_dir / name) == sha, name


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.unlink(), "cannot be read"),
        (lambda p: p.write_text("not a picture"), "is not a readable image"),
        (lambda p: p.write_bytes(p.read_bytes()[:300]), "is not a readable image"),
        (lambda p: Image.new("RGBA", (64, 64)).save(p), "is 64x64 pixels; a sheet must be 832x1344"),
        (lambda p: Image.open(p).convert("RGBA").save(p), "has sha256"),  # same pixels, different file
    ],
    ids=["missing", "not-an-image", "truncated", "wrong-size", "hash-mismatch"],
)
def test_bad_sheet_is_a_clear_error_and_writes_nothing(sheets_copy, tmp_path, damage, message, no_leftovers) -> None:
    bad = sheets_copy / "hair/2.png"
    damage(bad)
    out = tmp_path / "out"
    with pytest.raises(DSVAEError, match=message) as err:
        build_sprites(out, sheets_copy)
    assert str(bad) in str(err.value) and "\n" not in str(err.value)
    assert no_leftovers(out)


def test_missing_sheets_folder(tmp_path: Path) -> None:
    with pytest.raises(DSVAEError, match="does not exist"):
        build_sprites(tmp_path / "out", tmp_path / "nowhere")


def test_download_fetches_every_pinned_file(sheets_dir: Path, tmp_path: Path, serve) -> None:
    cache = download_sheets(tmp_path / "cache", serve(sheets_dir))
    for name in SHEET_SHA256:
        assert (cache / name).read_bytes() == (sheets_dir / name).read_bytes()
    assert not list(cache.rglob("*.download"))


def test_download_replaces_a_damaged_cached_file(sheets_dir: Path, tmp_path: Path, serve) -> None:
    cache = download_sheets(tmp_path / "cache", serve(sheets_dir))
    (cache / "body/0.png").write_bytes(b"stale")
    download_sheets(cache, serve(sheets_dir))
    assert (cache / "body/0.png").read_bytes() == (sheets_dir / "body/0.png").read_bytes()


def test_download_with_a_wrong_hash_saves_nothing(sheets_copy: Path, tmp_path: Path, serve) -> None:
    shutil.copyfile(sheets_copy / "body/1.png", sheets_copy / "body/3.png")  # the server has a changed file
    cache = tmp_path / "cache"
    with pytest.raises(DSVAEError, match=r"body/3\.png failed verification: .*has sha256") as err:
        download_sheets(cache, serve(sheets_copy))
    assert "\n" not in str(err.value)
    assert not (cache / "body/3.png").exists() and not list(cache.rglob("*.download"))
    assert (cache / "body/2.png").is_file()  # the good files before it were kept


def test_download_cut_short_saves_nothing(sheets_dir: Path, tmp_path: Path, serve) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(DSVAEError, match=r"hair/0\.png ended early \(\d+ of \d+ bytes\)"):
        download_sheets(cache, serve(sheets_dir, truncate=("hair/0.png",)))
    assert not (cache / "hair/0.png").exists() and not list(cache.rglob("*.download"))


def test_download_of_a_missing_file_names_it(tmp_path: Path, serve) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DSVAEError, match=r"could not download .*body/0\.png: HTTP 404"):
        download_sheets(tmp_path / "cache", serve(empty))


def test_composite_cell_covers_every_character_once(sheets_dir: Path) -> None:
    sheets, _ = read_sheets(sheets_dir)
    cell = composite_cell(sheets, 10, 1)  # walk-front, frame 1
    assert cell.shape == (1296, 64, 64, 3) and cell.dtype == np.uint8
    assert len({c.tobytes() for c in cell}) == 1296  # every character looks different
