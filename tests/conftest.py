"""Shared fixtures: small datasets made in tmp dirs (flowers5 is read-only input), tiny runs."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
# `make data` fills data/flowers5; CI and this workplace also have the read-only copy in ../shared
FLOWERS = next((p for p in (ROOT / "data" / "flowers5", ROOT.parent / "shared" / "data" / "flowers5") if p.is_dir()),
               ROOT / "data" / "flowers5")
CLASSES = ("daisy", "roses", "tulips")
BLOCK_TORCH = Path(__file__).parent / "block_torch"  # sitecustomize that makes `import torch` fail


def real_photos(n_per_class: int, classes=CLASSES) -> dict[str, list[Path]]:
    if not FLOWERS.is_dir():
        pytest.skip(f"real data not found at {FLOWERS}: run `make data`")
    return {c: sorted((FLOWERS / c).glob("*.jpg"))[:n_per_class] for c in classes}


def make_dataset(root: Path, n_per_class: int = 6, classes=CLASSES) -> Path:
    """Copy a few real flowers5 photos per class into `root` (never write into flowers5)."""
    for name, paths in real_photos(n_per_class, classes).items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for p in paths:
            shutil.copy(p, root / name / p.name)
    return root


def pytest_runtest_setup(item: pytest.Item) -> None:
    """The `openvino` and `gpu` markers skip their tests where the package or a CUDA GPU is missing."""
    if item.get_closest_marker("openvino") and importlib.util.find_spec("openvino") is None:
        pytest.skip("needs the openvino package (pip install 'edge-classifier[openvino]')")
    if item.get_closest_marker("gpu"):
        import torch

        if not torch.cuda.is_available():
            pytest.skip("needs a CUDA GPU")


@pytest.fixture(scope="session", autouse=True)
def _private_edge_cache(tmp_path_factory) -> None:
    """Features and other caches of the whole suite go to a temp folder, never the user's ~/.cache/edge
    (tests that check the cache's own location set XDG_CACHE_HOME or EDGE_CACHE themselves)."""
    import os

    os.environ.pop("EDGE_CACHE", None)
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "data")


def synthetic_image(seed: int, size=(80, 60)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A 1-epoch random-init run at 64 px: fast, real files, the full training code path."""
    from edge.train.config import TrainConfig
    from edge.train.run import train

    root = tmp_path_factory.mktemp("tinyrun")
    data = make_dataset(root / "data", 6)
    cfg = TrainConfig(data=str(data), out=str(root / "run"), model="mobilenet_v3_small", strategy="finetune",
                      epochs=1, pretrained=False, image_size=64, batch_size=8)
    train(cfg, log=lambda *_: None)
    return root / "run"


@pytest.fixture(scope="session")
def tiny_export(tiny_run: Path, tmp_path_factory) -> Path:
    from edge.export.pipeline import export

    out = tmp_path_factory.mktemp("tinyexport") / "export"
    export(source=str(tiny_run), out=out, formats=["onnx", "onnx-int8", "openvino"], calibration_size=12,
           log=lambda *_: None)
    return out
