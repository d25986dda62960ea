"""Make tests/runtime/data/imx500_tensors.json: what an AI Camera's sensor would hand picamera2 for real photos.

We have no AI Camera and there is no IMX500 simulator, so the fake picamera2 of the tests replays the
output tensors the converted network's quantized ONNX (imx500/model.onnx, what imxconv-pt compiled; run
with MCT's quantizer ops, as the export's parity check runs it) gives for real flowers5 photos and a few
synthetic non-photos. Those outputs already lie on the chip's grid (int8 logits, uint8 score).

  .venv/bin/python scripts/imx500_fixture.py EXPORT [--data DIR] [--per-class 4] [--out PATH]

EXPORT: a folder from `edge export RUN --format imx500` (needs `make install-imx500` for MCT's ops).
The photos are preprocessed as the runtime does (the manifest's decode, resize, crop, mean/std).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = next((p for p in (ROOT / "data" / "flowers5", ROOT.parent / "shared" / "data" / "flowers5")
                     if p.is_dir()), ROOT / "data" / "flowers5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--per-class", type=int, default=4)
    parser.add_argument("--non-photos", type=int, default=6)
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "runtime" / "data" / "imx500_tensors.json")
    args = parser.parse_args()

    from edge.export.data import synthetic_images
    from edge.export.imx500_check import load
    from edge.export_dir import ExportDir
    from edge.manifest import read_manifest
    from edge.runtime.preprocess import Preprocessor

    export = ExportDir(args.export)
    manifest = read_manifest(export.manifest_path)
    pre = Preprocessor(manifest)
    names, images = [], []
    for label in manifest.labels:  # the last photos of each class folder, sorted: a fixed, reproducible pick
        for path in sorted((args.data / label).glob("*.jpg"))[-args.per_class:]:
            names.append(f"{label}/{path.name}")
            images.append(pre(pre.load(path)))
    for i, image in enumerate(synthetic_images(args.non_photos, seed=7)):
        names.append(f"synthetic-{i}")
        images.append(pre(image))
    check = load(export.artifact("imx500"), threads=2)
    logits, scores = check.run_all(np.stack(images).astype(np.float32))[:2]
    photos = [{"name": n, "logits": [float(v) for v in row], "score": float(s)} for n, row, s in zip(names, logits, scores)]
    dnn = (export.artifact("imx500").with_name("dnnParams.xml")).read_text(encoding="utf-8")
    fixture = {"made_by": "scripts/imx500_fixture.py " + args.export.name, "manifest": json.loads(manifest.to_json()),
               "dnn_params": dnn, "photos": photos}
    args.out.write_text(json.dumps(fixture, indent=1) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(photos)} photos, {args.out.stat().st_size / 1024:.1f} KB")


if __name__ == "__main__":
    main()
