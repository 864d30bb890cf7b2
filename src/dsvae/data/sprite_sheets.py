"""The LPC sheet layers behind the Sprites benchmark: the pinned files, reading, downloading.

The layers come from github.com/YingzhenLi/Sprites (Li & Mandt 2018) at a fixed commit; each
file the recipe reads is pinned by its SHA-256, so a build is reproducible byte for byte. Each
layer is an 832 x 1344 sheet of 13 columns x 21 rows of 64 x 64 cells (the Liberated Pixel Cup
layout). The art is LPC's, dual-licensed CC-BY-SA 3.0 / GPL 3.0 (see ``docs/data.md``).
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm

from dsvae.data.download import check_digest, digest_bytes, download
from dsvae.errors import DSVAEError

SPRITES_COMMIT = "3ce4048c5227802bd8f1888e293fd3afdba91c0c"
DEFAULT_BASE_URL = f"https://raw.githubusercontent.com/YingzhenLi/Sprites/{SPRITES_COMMIT}"
CELL = 64  # pixels per side of a sheet cell
COLUMNS, ROWS = 13, 21
SHEET_SIZE = (COLUMNS * CELL, ROWS * CELL)  # (width, height) = (832, 1344), as Pillow reports it

# SHA-256 of every file the recipe reads, computed from the repository at SPRITES_COMMIT.
SHEET_SHA256 = {
    "body/0.png": "27d1ac78db37c42f35a20d15c42705efc5e58d47c236cc01423879d4f797f151",
    "body/1.png": "1535e9228357b884df80f777a0d1dac10ac35e550e4d8d077105ccad014a1460",
    "body/2.png": "7c241033b4897501cb3721b6c3a9ebfa94b13db10a539edbd9bcc3e0c2a4bcb9",
    "body/3.png": "055f5aa33fc112d8444b42fce2cf50608a9fbbf2466c54ceaa46c777589a717a",
    "body/4.png": "57f3b9c510482379aba9a32fc0de7d48e9cbe3dc40f2447283547f773b77ca72",
    "body/5.png": "91e49453aeab5ebbb4fd2b48253812895dcfb4cb1829b84e24425c66de8f04ff",
    "bottomwear/0.png": "4ec356c488e272fde2d2d0d722b12a80217871e41161d43ba784caf243969ec2",
    "bottomwear/1.png": "0674312eaa4ab548f8bb31ef95d7dbd46b41555758cec51bd6c3e9fac9a0f936",
    "bottomwear/2.png": "3b464feb0d20ff34b0ca2a6d1fd00766ad86e2229c3d56ff91379fe27588a893",
    "bottomwear/3.png": "b366e84ea0519d06cf693f51e0ee2f9ac32b3132d27c75dfdc4b6f52fca072de",
    "bottomwear/4.png": "4ed7e7702e4f50b9692c0043be04b7296a108d85ea97230fb50d13c150d98771",
    "bottomwear/5.png": "a5c5e7e33f13fe5ad37b5836a5a74fb0d2094a0877c2146961b88688ff85840d",
    "topwear/0.png": "b917edcf2b3c35d51ef57a6fad67557c5edf048785bea29db09a640d09ac9a90",
    "topwear/1.png": "e33c6cb31ed1268a2c0dc73b665b1c9b9420e22baf3321880222bdb22682368b",
    "topwear/2.png": "2b9b8fefa08894b7ea536cd62b86d494aefe6e54495c5c1d83460827b13b6448",
    "topwear/3.png": "807f5b628592f6747e2814be9435963069dba6c360577168c02f57bbe903433d",
    "topwear/4.png": "b51b17878503877e179ce4f9231713bf2b2d2d666c3ec9ee29f4e784469867a2",
    "topwear/5.png": "1b6049d43f83ebfda857cc405d1936ac9fd80be480fa6ad239024a6a75ad0372",
    "hair/0.png": "e4007b0635a239ad16cdebfe90759349ccc73dfc6836c9d19625714be185f43d",
    "hair/1.png": "fa6369f84d3310705df6d8ca8c9d515a7d211e73d2826c50a9cb5bb285652c66",
    "hair/2.png": "1b8046752be7233e829ebe9b11048e171d8d181ee6f68e07042b34f57bb8af0d",
    "hair/3.png": "333783285c5fd94ff434ae5000d2da39aac7940269f173119eaa70d34c8acfa1",
    "hair/4.png": "24df8e9b291cbd444f6c4d12d35b3d43d909cd13f04e6401e0fd8ab10216d5a2",
    "hair/5.png": "4dd471cc20e0b1cf71adcaab01c88598767e5cfe680adacdf560ca91574f17ae",
    "shoes/1.png": "d56a561616a20a12030d2d40a52eeec63e6d048871bf3b6994221869362151f1",
}


def decode_sheet(data: bytes, where: str) -> np.ndarray:
    """PNG bytes -> (1344, 832, 4) uint8 RGBA, checking that it is an image of a sheet's size."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            size = image.size
            rgba = image.convert("RGBA")  # palette sheets carry their alpha in the tRNS chunk
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DSVAEError(f"sheet {where} is not a readable image ({exc})") from exc
    if size != SHEET_SIZE:
        raise DSVAEError(
            f"sheet {where} is {size[0]}x{size[1]} pixels; a sheet must be {SHEET_SIZE[0]}x{SHEET_SIZE[1]} "
            f"({COLUMNS}x{ROWS} cells of {CELL}x{CELL})"
        )
    return np.asarray(rgba)


def read_sheet(folder: Path, name: str, verify: bool) -> tuple[np.ndarray, str]:
    """One sheet as RGBA pixels, and its sha256; with ``verify``, it must be the pinned file."""
    path = folder / name
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc
        raise DSVAEError(f"sheet {path} cannot be read ({reason}); pass --sheets DIR or let dsvae download it") from exc
    pixels = decode_sheet(data, str(path))
    sha = digest_bytes(data)
    if verify and sha != SHEET_SHA256[name]:
        raise DSVAEError(
            f"sheet {path} has sha256 {sha[:16]}..., expected {SHEET_SHA256[name][:16]}... "
            f"(not the file of Sprites commit {SPRITES_COMMIT[:7]}); use the pinned sheets or --no-verify"
        )
    return pixels, sha


def read_sheets(folder: str | Path, verify: bool = True) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """All the recipe's sheets under ``folder``: name -> RGBA pixels, and name -> "sha256:<hex>"."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DSVAEError(f"sheets folder {folder} does not exist")
    sheets, sources = {}, {}
    for name in SHEET_SHA256:
        sheets[name], sha = read_sheet(folder, name, verify)
        sources[name] = f"sha256:{sha}"
    return sheets, sources


def download_sheets(cache: str | Path, base_url: str = DEFAULT_BASE_URL, progress: bool = False) -> Path:
    """Make sure ``cache`` holds every pinned sheet, downloading what is missing or wrong; returns ``cache``.

    Files are fetched from ``{base_url}/{layer}/{i}.png`` (the repository's layout).
    """
    cache = Path(cache)
    for name in tqdm(SHEET_SHA256, desc="sheets", unit="file", disable=not progress):
        dest = cache / name
        if dest.is_file():
            try:
                check_digest(dest, SHEET_SHA256[name])
                continue
            except DSVAEError:
                pass  # a stale or damaged cached copy: fetch it again
        verify = functools.partial(check_digest, expected=SHEET_SHA256[name], what=name)
        download(f"{base_url.rstrip('/')}/{name}", dest, verify)
    return cache
