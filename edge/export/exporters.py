"""Which function builds each format of the table in `edge.formats` (one small module per format)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edge.export import imx500, ncnn, onnx_fp32, onnx_int8, openvino_fp32, openvino_int8, tflite_fp32, tflite_int8, torchscript
from edge.export.job import ExportJob

EXPORTERS: dict[str, Callable[[ExportJob], Path]] = {
    "torchscript": torchscript.export,
    "onnx": onnx_fp32.export,
    "onnx-int8": onnx_int8.export,
    "openvino": openvino_fp32.export,
    "openvino-int8": openvino_int8.export,
    "tflite": tflite_fp32.export,
    "tflite-int8": tflite_int8.export,
    "ncnn": ncnn.export,
    "imx500": imx500.export,
}
