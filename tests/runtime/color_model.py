"""A tiny ONNX model whose answer follows the picture: the logits are the frame's mean of each normalised
channel (R -> the first label, G -> the second, B -> the third), times a gain. The tiny trained export
answers the same for every photo, so a test that must tell sources apart runs this one instead, with
the tiny export's manifest beside it (its labels, resize, crop, mean/std)."""

from __future__ import annotations

import shutil
from pathlib import Path


def write_color_model(export: Path, out: Path, gain: float = 8.0) -> Path:
    """out/model.onnx (+ export's manifest.json) -> the model's path."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(export / "manifest.json", out / "manifest.json")
    weights = numpy_helper.from_array((gain * np.eye(3)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
         helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
         helper.make_node("MatMul", ["flat", "w"], ["logits"])],
        "color", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 3])], initializer=[weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, out / "model.onnx")
    return out / "model.onnx"
