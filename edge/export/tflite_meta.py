"""The manifest inside a TFLite flatbuffer: one `metadata` entry (name MANIFEST_KEY) pointing at a buffer.

TFLite's schema has a `metadata` list (name -> buffer index) for exactly this; the TFLite Support
"model metadata" is a second flatbuffer with its own schema and only image-normalisation fields,
so it could not carry labels, the unknown score or the estimate. The runtime reads the entry back
torch-free (`edge.runtime.backends.tflite_metadata`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.errors import EdgeError
from edge.library_output import native_output
from edge.manifest import MANIFEST_KEY, Manifest

FILE_IDENTIFIER = b"TFL3"


def import_litert_torch():
    """litert-torch, or a one-line error naming the extra that installs it."""
    try:
        with native_output():  # its TensorFlow import logs absl and oneDNN lines straight to fd 2
            import litert_torch
    except ImportError:
        raise EdgeError("tflite export needs litert-torch: pip install 'edge-classifier[litert]'") from None
    return litert_torch


def embed_manifest(path: Path, manifest: Manifest) -> None:
    """Rewrite the .tflite file with the manifest as metadata (an earlier entry of ours is replaced)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    content = path.read_bytes()
    model = schema.ModelT.InitFromPackedBuf(bytearray(content), 0)
    _inline_buffers(model, content)
    model.metadata = [m for m in model.metadata or [] if m.name not in (MANIFEST_KEY, MANIFEST_KEY.encode())]
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(manifest.to_json().encode("utf-8"), dtype=np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = MANIFEST_KEY, len(model.buffers) - 1
    model.metadata.append(entry)
    builder = flatbuffers.Builder(path.stat().st_size + 1024)
    builder.Finish(model.Pack(builder), file_identifier=FILE_IDENTIFIER)
    path.write_bytes(bytes(builder.Output()))


def _inline_buffers(model, content: bytes) -> None:
    """Move weights stored after the flatbuffer (buffer offset + size, as AI Edge Quantizer writes any
    model over 256 KB) back inside it: repacking would leave those offsets pointing at nothing."""
    for buffer in model.buffers or []:
        if getattr(buffer, "offset", 0) > 1:
            buffer.data = np.frombuffer(content[buffer.offset : buffer.offset + buffer.size], dtype=np.uint8)
            buffer.offset = buffer.size = 0
