"""Vision features: EfficientNet-Lite0 grid regions, MRHP RoI files, region caps."""

import pickle

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from engine.config import MMSSConfig
from engine.model.batch import MMSSBatch
from engine.model.vision import GridImageEncoder, cap_regions, load_roi_features


def _images():
    a = Image.new("RGB", (320, 240), (200, 30, 30))
    ImageDraw.Draw(a).ellipse((60, 40, 260, 200), fill=(20, 20, 220))
    b = Image.fromarray(np.random.default_rng(0).integers(0, 255, (180, 300, 3), dtype=np.uint8))
    return [a, b.convert("L")]  # a grey image is converted to RGB


def test_grid_encoder_gives_49_regions_an_image():
    enc = GridImageEncoder()  # the packaged ImageNet EfficientNet-Lite0, read tensors-only
    assert not any(p.requires_grad for p in enc.parameters())
    feats = enc.encode(_images(), batch_size=2)
    assert len(feats) == 2
    assert all(f.shape == (49, 1280) and f.dtype == torch.float32 for f in feats)
    assert all(torch.isfinite(f).all() for f in feats)
    assert not torch.allclose(feats[0], feats[1])
    assert enc.identity().startswith("efficientnet-lite0@")
    enc.train()
    assert not enc.net.training  # BatchNorm statistics never move
    # grid regions fit the default config's caps: 49 -> 32 cells spread over the image
    cfg = MMSSConfig()
    batch = MMSSBatch.build(
        cfg, [0], review_states=[torch.zeros(2, 384)], product_states=[torch.zeros(2, 384)],
        review_images=[feats], metadata=torch.zeros(1, cfg.n_metadata),
    )
    assert batch.review_regions.shape == (1, 64, 1280) and batch.review_region_mask.all()


def test_grid_preprocessing_matches_the_weights():
    """The TF-Lite normalisation makes the packaged classifier see a daisy in a daisy photo."""
    sklearn = pytest.importorskip("sklearn")
    from pathlib import Path

    photo = Path(sklearn.__file__).parent / "datasets" / "images" / "flower.jpg"
    if not photo.is_file():
        pytest.skip("scikit-learn's sample photo is not installed")
    enc = GridImageEncoder()
    with torch.no_grad():
        logits = enc.net(enc.pixels([Image.open(photo)]))  # the ImageNet head of the same net
    assert int(logits.argmax()) == 985  # ImageNet class 985: daisy


def test_cap_regions():
    rows = [torch.arange(10.0)[:, None].expand(10, 3) + 100 * i for i in range(3)]
    roi = cap_regions(rows, max_per_image=4, max_total=10, source="roi")
    assert roi[:, 0].tolist() == [0, 1, 2, 3, 100, 101, 102, 103, 200, 201]  # first boxes kept
    grid = cap_regions(rows[:1], max_per_image=4, max_total=10, source="grid")
    assert grid[:, 0].tolist() == [0, 3, 6, 9]  # evenly spread cells
    assert cap_regions([], 4, 10).shape[0] == 0


def test_load_roi_features_mrhp_layout(tmp_path):
    path = tmp_path / "r1.pth"
    torch.save(
        [
            {"x": torch.randn(5, 2048), "num_boxes": 5, "image_h": 480},
            {"x": np.random.rand(3, 2048).astype(np.float32), "bbox": np.zeros((3, 4))},
        ],
        path,
    )
    feats = load_roi_features(path)
    assert [f.shape for f in feats] == [(5, 2048), (3, 2048)]
    assert all(f.dtype == torch.float32 for f in feats)
    torch.save([{"x": torch.randn(5, 1024)}], tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="bad.pth"):
        load_roi_features(tmp_path / "bad.pth")


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_roi_file_with_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    for name, writer in (
        ("plain.pth", lambda p: p.write_bytes(pickle.dumps([{"x": _Exploit(str(marker))}]))),
        ("zip.pth", lambda p: torch.save([{"x": _Exploit(str(marker))}], p)),
    ):
        path = tmp_path / name
        writer(path)
        with pytest.raises(ValueError, match=name):
            load_roi_features(path)
        assert not marker.exists()
