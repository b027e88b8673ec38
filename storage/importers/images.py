"""Catalogue images: path checks, Pillow validation, content-addressed storage.

An image path in a catalogue is relative to the catalogue folder and must stay inside it:
absolute paths, ``..`` components and symlinks that lead outside are refused. Each file is
size-capped, opened by Pillow with only common raster formats allowed, checked against a
pixel cap (decompression bombs; Pillow's own ``Image.MAX_IMAGE_PIXELS`` guard stays on too),
``verify()``-ed and fully decoded once. Files are stored as
``<media_dir>/<sha[:2]>/<sha256>.<ext>`` only after the database rows are written.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from ..errors import CatalogueError

MAX_IMAGE_BYTES = 50 * 2**20
"""Image files larger than this are refused before decoding."""

MAX_IMAGE_PIXELS = 40_000_000
"""Width x height above this is refused as a likely decompression bomb (below Pillow's own
default guard, which stays on as a second line)."""

FORMATS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "WEBP": "webp", "BMP": "bmp"}
"""Pillow formats accepted, with the extension the stored file gets."""

_WINDOWS_ABS = re.compile(r"^(?:[A-Za-z]:|[\\/]{2})")


class ImageProblem(Exception):
    """A bad image reference; the caller adds file, line and field."""


@dataclass(frozen=True)
class ImageRef:
    """A validated image: where it was found and what will be stored."""

    sha256: str
    source: Path
    format: str
    ext: str
    width: int
    height: int
    n_bytes: int

    @property
    def relpath(self) -> str:
        return f"{self.sha256[:2]}/{self.sha256}.{self.ext}"


def resolve_inside(root: Path, rel: str) -> Path:
    """``root / rel`` if it stays inside ``root`` (after symlinks); else ImageProblem."""
    if not rel or not rel.strip():
        raise ImageProblem("empty image path")
    if "\x00" in rel:
        raise ImageProblem("image path contains a NUL character")
    if os.path.isabs(rel) or rel.startswith(("/", "\\")) or _WINDOWS_ABS.match(rel):
        raise ImageProblem(f"image path {rel!r} is absolute; paths must be relative to the catalogue folder")
    parts = re.split(r"[\\/]+", rel)
    if ".." in parts:
        raise ImageProblem(f"image path {rel!r} leaves the catalogue folder ('..')")
    root_r = root.resolve()
    candidate = root / rel
    try:
        resolved = candidate.resolve(strict=False)
    except (OSError, RuntimeError) as exc:  # symlink loops
        raise ImageProblem(f"image path {rel!r} cannot be resolved: {exc}") from None
    if resolved != root_r and root_r not in resolved.parents:
        raise ImageProblem(f"image path {rel!r} leads outside the catalogue folder (through a symlink)")
    if not resolved.exists():
        raise ImageProblem(f"image file {rel!r} does not exist")
    if not resolved.is_file():
        raise ImageProblem(f"image path {rel!r} is not a regular file")
    return resolved


def inspect_image(path: Path, shown: str) -> ImageRef:
    """Validate one image file with Pillow; ``shown`` names it in messages."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageProblem(f"cannot read image {shown!r}: {exc.strerror or exc}") from None
    if size == 0:
        raise ImageProblem(f"image {shown!r} is an empty file")
    if size > MAX_IMAGE_BYTES:
        raise ImageProblem(f"image {shown!r} is {size:,} bytes, more than the {MAX_IMAGE_BYTES:,} allowed")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageProblem(f"cannot read image {shown!r}: {exc.strerror or exc}") from None
    cap = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data), formats=list(FORMATS)) as im:
                width, height = im.size
                fmt = im.format
                if width * height > cap:
                    raise ImageProblem(
                        f"image {shown!r} is {width}x{height} pixels, more than {cap:,} "
                        "(refused as a possible decompression bomb)"
                    )
                im.verify()
            with PILImage.open(io.BytesIO(data), formats=list(FORMATS)) as im:
                im.load()
    except ImageProblem:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise ImageProblem(f"image {shown!r} refused as a decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        raise ImageProblem(
            f"{shown!r} is not an image Pillow can read (accepted: {', '.join(sorted(FORMATS))})"
        ) from None
    except Exception as exc:  # Pillow raises many types on corrupt data: OSError, SyntaxError, ValueError...
        raise ImageProblem(f"image {shown!r} is corrupt or truncated: {exc}") from None
    if width <= 0 or height <= 0:
        raise ImageProblem(f"image {shown!r} has no pixels")
    return ImageRef(
        sha256=hashlib.sha256(data).hexdigest(), source=path, format=fmt, ext=FORMATS[fmt],
        width=width, height=height, n_bytes=size,
    )


class ImageResolver:
    """Validates image references of one catalogue folder, each file once."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._cache: dict[Path, ImageRef] = {}

    def ref(self, rel: str) -> ImageRef:
        path = resolve_inside(self.root, rel)
        hit = self._cache.get(path)
        if hit is None:
            hit = self._cache[path] = inspect_image(path, rel)
        return hit


@dataclass
class StoredFiles:
    """Media files this import created (removed again if the transaction fails)."""

    created: list[Path] = field(default_factory=list)

    def remove_created(self) -> None:
        while self.created:
            p = self.created.pop()
            try:
                p.unlink()
            except OSError:
                pass  # an orphan file in the media folder is harmless


def store_images(refs: list[ImageRef], media_dir: Path, stored: StoredFiles) -> None:
    """Copy each image to its content address unless a file of that size is already there."""
    for ref in refs:
        dest = Path(media_dir) / ref.relpath
        try:
            if dest.is_file() and dest.stat().st_size == ref.n_bytes:
                continue
            data = ref.source.read_bytes()
        except OSError as exc:
            raise CatalogueError(ref.source, None, None, f"cannot read image: {exc.strerror or exc}") from None
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            raise CatalogueError(ref.source, None, None, "image changed while it was being imported; try again")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".import-", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, dest)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError as exc:
            raise CatalogueError(dest, None, None, f"cannot write the image to the media folder: {exc.strerror or exc}") from None
        stored.created.append(dest)
