"""Read and write the manifest inside an ONNX file's metadata_props."""

from __future__ import annotations

from pathlib import Path

from edge.manifest import MANIFEST_KEY, Manifest


def embed_manifest(path: Path, manifest: Manifest) -> None:
    import onnx

    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if p.key != MANIFEST_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    model.metadata_props.add(key=MANIFEST_KEY, value=manifest.to_json())
    model.producer_name = "edge"
    onnx.save(model, str(path))
