"""Empirical bias correction for ONNX Runtime's QDQ INT8 models.

Quantizing weights shifts the mean of every conv's output a little; through a deep net the shifts
add up. NNCF corrects this for OpenVINO (and it was what made its INT8 model accurate); ORT's
quantizer does not. Here: run the FP32 and the INT8 graph on calibration images, compare every
conv's per-channel output mean, and move the difference into that conv's (int32) bias, one conv
at a time in graph order: correcting a layer changes what every later layer sees, so all-at-once
corrections overshoot (measured: errors grew from layer 2 on).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.export.score_path import ancestors


def _conv_means(model, outputs: list[str], x: np.ndarray, threads: int, batch: int = 16) -> dict[str, np.ndarray]:
    """Per-channel mean of each named tensor (N, C, H, W) over the images."""
    import onnxruntime as ort

    probe = _needed_part(model, outputs)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # simulated QDQ math
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    sums, counts = {name: 0.0 for name in outputs}, {name: 0 for name in outputs}
    for i in range(0, len(x), batch):
        for name, value in zip(outputs, session.run(outputs, {"input": x[i : i + batch]})):
            sums[name] = sums[name] + value.sum(axis=(0, 2, 3), dtype=np.float64)
            counts[name] += value.shape[0] * value.shape[2] * value.shape[3]
    return {name: sums[name] / counts[name] for name in outputs}


def _needed_part(model, outputs: list[str]):
    """A copy of the model with `outputs` as its outputs and only the nodes they need: correcting the
    convs one at a time runs the graph once per conv, and an early conv needs only its first layers
    (measured on Lite0: the 50 passes took 52 s over the whole graph)."""
    import onnx

    producer = {o: n for n in model.graph.node for o in n.output}

    def parents(tensor: str) -> list[str]:
        return list(producer[tensor].input) if tensor in producer else []

    needed = set().union(*(ancestors(name, parents) for name in outputs))  # tensor names
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    kept = [n for n in probe.graph.node if needed.intersection(n.output)]
    used = {name for n in kept for name in n.input}
    weights = [w for w in probe.graph.initializer if w.name in used]  # ORT warns once for each unused one
    del probe.graph.node[:], probe.graph.output[:], probe.graph.initializer[:]
    probe.graph.node.extend(kept)
    probe.graph.initializer.extend(weights)
    probe.graph.output.extend([onnx.ValueInfoProto(name=name) for name in outputs])
    return probe


def correct(fp32_path: Path, int8_path: Path, x: np.ndarray, threads: int = 2) -> int:
    """Rewrite `int8_path` with corrected conv biases; return how many convs were corrected."""
    import onnx
    from onnx import numpy_helper

    fp32, int8 = onnx.load(str(fp32_path)), onnx.load(str(int8_path))
    fp32_out = {n.name: n.output[0] for n in fp32.graph.node if n.op_type == "Conv"}
    producer = {o: n for n in int8.graph.node for o in n.output}
    inits = {i.name: i for i in int8.graph.initializer}
    convs = []
    for node in int8.graph.node:  # graph order is topological
        bias_dq = producer.get(node.input[2]) if node.op_type == "Conv" and len(node.input) == 3 else None
        if node.name in fp32_out and bias_dq is not None and bias_dq.op_type == "DequantizeLinear":
            convs.append((node, inits[bias_dq.input[0]], numpy_helper.to_array(inits[bias_dq.input[1]])))
    reference = _conv_means(fp32, [fp32_out[n.name] for n, _, _ in convs], x, threads)
    for node, bias_init, scale in convs:
        current = _conv_means(int8, [node.output[0]], x, threads)[node.output[0]]
        delta = current - reference[fp32_out[node.name]]
        bias = numpy_helper.to_array(bias_init).astype(np.int64)
        fixed = np.clip(bias - np.round(delta / scale), -(2**31), 2**31 - 1).astype(np.int32)
        bias_init.CopyFrom(numpy_helper.from_array(fixed, bias_init.name))
    onnx.save(int8, str(int8_path))
    return len(convs)
