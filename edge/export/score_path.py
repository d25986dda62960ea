"""The nodes only the unknown score needs: kept in float by every INT8 quantizer.

Post-training quantization clips every quantized tensor to the range it saw on the calibration
photos, which are all in-class. A far-away image's score lies below that range by design, so a
quantized score path clips it up into the in-class range and the image is no longer rejected
(measured: cosine + softmax lost all 52 far images in both INT8 formats). The score path is a few
vector operations after the pooled features; in float it costs nothing measurable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def ancestors(start, parents) -> set:
    """`start` and everything `parents` reaches from it (a graph walk shared by every format)."""
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(parents(node))
    return seen


def onnx_nodes(model_path: Path) -> list[str]:
    """Names of the ONNX nodes the second output (the unknown score) needs and the logits do not."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    if len(graph.output) < 2:
        return []
    producer = {out: node for node in graph.node for out in node.output}

    def parents(name: str) -> list[str]:
        node = producer.get(name)
        return [] if node is None else [t for t in node.input if t]

    logits, score = (ancestors(o.name, parents) for o in graph.output[:2])
    return [node.name for node in graph.node if set(node.output) & (score - logits)]


def openvino_ops(model) -> list[str]:
    """Friendly names of the OpenVINO ops the second result (the unknown score) needs and the logits do not."""
    results = model.get_results()
    if len(results) < 2:
        return []

    def parents(op) -> list:
        return [op.input_value(i).get_node() for i in range(op.get_input_size())]

    logits, score = (ancestors(r, parents) for r in results[:2])
    only = {op.get_friendly_name() for op in score - logits
            if op.get_type_name() not in ("Constant", "Result", "Parameter")}
    return sorted(only)


@dataclass
class TfliteOps:
    """Subgraph 0 of a .tflite file as AI Edge Quantizer sees it: each op's name, scope and outputs."""

    names: list  # TFLOperationName per op
    scopes: list[str]  # AEQ's scope per op ("output names;"), what its recipe regexes match
    outputs: list[set[int]]  # tensor indices each op writes
    needs: list[set[int]]  # per graph output (logits, then the score): the tensors it is computed from
    output_scope: str  # the graph-outputs pseudo-op's scope (quantized unless named float)


def tflite_ops(model_path: Path) -> TfliteOps:
    from ai_edge_quantizer.utils import tfl_flatbuffer_utils as tfl

    model = tfl.read_model(Path(model_path))
    graph = model.subgraphs[0]
    producer = {int(t): op for op in graph.operators for t in op.outputs}

    def parents(tensor: int) -> list[int]:
        op = producer.get(tensor)
        return [] if op is None else [int(t) for t in op.inputs if t >= 0]

    return TfliteOps(
        names=[tfl.TFL_OP_CODE_TO_NAME.get(model.operatorCodes[op.opcodeIndex].builtinCode) for op in graph.operators],
        scopes=[tfl.get_op_scope(op, graph.tensors) for op in graph.operators],
        outputs=[{int(t) for t in op.outputs} for op in graph.operators],
        needs=[ancestors(int(t), parents) for t in graph.outputs],
        output_scope=tfl.get_op_scope(tfl.get_subgraph_input_output_operators(graph)[1], graph.tensors))


def tflite_scopes(ops: TfliteOps) -> list[str]:
    """AI Edge Quantizer scopes of the TFLite ops the second output needs and the logits do not."""
    if len(ops.needs) < 2:
        return []
    only = ops.needs[1] - ops.needs[0]
    return [scope for scope, out in zip(ops.scopes, ops.outputs) if out & only]
