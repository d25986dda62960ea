"""The imx500 artifact's parity check: its quantized ONNX on ONNX Runtime with MCT's quantizer ops.

Nothing here runs on a sensor (there is no IMX500 simulator on PyPI). What the converter compiles is
MCT's quantized ONNX (imx500/model.onnx, beside packerOut.zip); ONNX Runtime runs it with MCT's
custom ops (`mct_quantizers.get_ort_session_options()`, Python ops through onnxruntime-extensions),
whose outputs already lie on the chip's grid (logits in int8 steps of 0.125, the score in uint8 steps
of 1/256 on flowers5 Lite0). Those Python ops take ~0.75 s a photo on 2 cores, so the format table
limits this check to `check_photos` of the check photos.

Inputs come preprocessed as the manifest says; the network takes the sensor's input
(imx500_graph.to_sensor_input), and its score comes as (N, 1), read as edge-infer reads it
(edge.runtime.classifier.unknown_scores: flattened to (N,), a 0/0 of an all-zero feature vector as 0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.errors import EdgeError
from edge.export.imx500_graph import to_sensor_input
from edge.manifest import MANIFEST_KEY, Manifest
from edge.runtime.backend_base import Backend
from edge.runtime.classifier import unknown_scores

QUANTIZED_ONNX = "model.onnx"  # beside packerOut.zip: what the converter compiled
LIBRARIES = "mct-quantizers 1.7 and onnxruntime-extensions (make install-imx500)"


class Imx500Check(Backend):
    name = "imx500"
    library = "mct_quantizers"

    def load(self) -> Imx500Check:
        try:
            import mct_quantizers  # registers MCT's quantizer ops with onnxruntime-extensions
            import onnxruntime as ort
        except ImportError:
            raise EdgeError(f"imx500 parity check needs {LIBRARIES}") from None
        onnx = self.path.with_name(QUANTIZED_ONNX) if self.path.suffix == ".zip" else self.path
        options = mct_quantizers.get_ort_session_options()
        options.log_severity_level = 3  # its dynamic batch makes ORT warn of buffer reuse on every shape
        if self.threads:
            options.intra_op_num_threads = self.threads
        self.session = ort.InferenceSession(str(onnx), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        text = self.embedded_manifest()
        if text is None:
            raise EdgeError(f"{onnx}: no manifest inside; re-export with `edge export RUN --format imx500`")
        self.manifest = Manifest.from_json(text, str(onnx))
        return self

    def run_all(self, batch: np.ndarray) -> list[np.ndarray]:
        outputs = self.session.run(None, {self.input_name: to_sensor_input(batch, self.manifest)})
        return [outputs[0], *(unknown_scores(o, len(batch)) for o in outputs[1:])]  # as edge-infer reads them

    def output_count(self) -> int:
        return len(self.session.get_outputs())

    def embedded_manifest(self) -> str | None:
        return self.session.get_modelmeta().custom_metadata_map.get(MANIFEST_KEY)


def load(path: Path, threads: int | None) -> Imx500Check:
    return Imx500Check(path, threads).load()
