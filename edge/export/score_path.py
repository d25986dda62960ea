"""The nodes only the unknown score needs: kept in float by every INT8 quantizer.

Post-training quantization clips every quantized tensor to the range it saw on the calibration
photos, which are all in-class. A far-away image's score lies below that range by design, so a
quantized score path clips it up into the in-class range and the image is no longer rejected
(measured: cosine + softmax lost all 52 far images in both INT8 formats). The score path is a few
vector operations after the pooled features; in float it costs nothing measurable.
"""

from __future__ import annotations

from pathlib import Path


def _ancestors(start, parents) -> set:
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

    logits, score = (_ancestors(o.name, parents) for o in graph.output[:2])
    return [node.name for node in graph.node if set(node.output) & (score - logits)]


def openvino_ops(model) -> list[str]:
    """Friendly names of the OpenVINO ops the second result (the unknown score) needs and the logits do not."""
    results = model.get_results()
    if len(results) < 2:
        return []

    def parents(op) -> list:
        return [op.input_value(i).get_node() for i in range(op.get_input_size())]

    logits, score = (_ancestors(r, parents) for r in results[:2])
    only = {op.get_friendly_name() for op in score - logits
            if op.get_type_name() not in ("Constant", "Result", "Parameter")}
    return sorted(only)


def _tflite_graph(model_path: Path):
    """Subgraph 0 of a .tflite file (AI Edge Quantizer's object API), its ops' names, their AEQ scopes,
    and the tensors each output needs."""
    from ai_edge_quantizer.utils import tfl_flatbuffer_utils as tfl

    model = tfl.read_model(Path(model_path))
    graph = model.subgraphs[0]
    producer = {int(t): op for op in graph.operators for t in op.outputs}

    def parents(tensor: int) -> list[int]:
        op = producer.get(tensor)
        return [] if op is None else [int(t) for t in op.inputs if t >= 0]

    needs = [_ancestors(int(t), parents) for t in graph.outputs]
    names = [tfl.TFL_OP_CODE_TO_NAME.get(model.operatorCodes[op.opcodeIndex].builtinCode) for op in graph.operators]
    return graph, names, [tfl.get_op_scope(op, graph.tensors) for op in graph.operators], needs


def tflite_scopes(model_path: Path) -> list[str]:
    """AI Edge Quantizer scopes of the TFLite ops the second output needs and the logits do not."""
    graph, _, scopes, needs = _tflite_graph(model_path)
    if len(needs) < 2:
        return []
    only = needs[1] - needs[0]
    return [scope for op, scope in zip(graph.operators, scopes) if any(int(t) in only for t in op.outputs)]


def tflite_head_scopes(model_path: Path) -> list[str]:
    """Scopes of the classifier (the last FULLY_CONNECTED the logits need) and of the graph's outputs:
    in float, the logits are not clipped to the range the calibration photos gave them (quantized,
    confident photos' logits were cut there and their top-1 probability read up to 0.09 low)."""
    from ai_edge_quantizer.qtyping import TFLOperationName as Op
    from ai_edge_quantizer.utils import tfl_flatbuffer_utils as tfl

    graph, names, scopes, needs = _tflite_graph(model_path)
    heads = [s for op, name, s in zip(graph.operators, names, scopes)
             if name == Op.FULLY_CONNECTED and any(int(t) in needs[0] for t in op.outputs)]
    outputs = tfl.get_op_scope(tfl.get_subgraph_input_output_operators(graph)[1], graph.tensors)
    return heads[-1:] + [outputs]


def tflite_first_conv_scope(model_path: Path) -> list[str]:
    from ai_edge_quantizer.qtyping import TFLOperationName as Op

    _, names, scopes, _ = _tflite_graph(model_path)
    return [s for name, s in zip(names, scopes) if name == Op.CONV_2D][:1]
