"""TFLite INT8: full-integer quantization of the FP32 flatbuffer by AI Edge Quantizer, settings best-first.

Google's AI Edge Quantizer (a dependency of litert-torch) quantizes a converted .tflite file:
int8 weights symmetric per output channel, int8 activations per tensor (asymmetric, as LiteRT's
kernels want), ranges from the export's calibration photos run through the float model in LiteRT:
the scheme XNNPACK's QS8 kernels run. The input is int8 (scale and zero point in its tensor details;
LiteRTBackend maps float32 in with them); the classifier and the outputs stay float.

Why not litert-torch's own PT2E path: on flowers5 Lite0 its flatbuffer agreed 47% with FP32 on 300
check photos while the same PT2E graph simulated in torch agreed 97.5% (the loss is in its
lowering); quantizing the float flatbuffer here agrees 100% on the same photos, in 8 s where the
PT2E search took 137 s.

The unknown score's own ops are left in float (see score_path): a quantized score is clipped to
the in-class range and far images stop being rejected. `int8_search` tries the settings in order
under `--max-drop`, as for ONNX and OpenVINO.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from edge.export import int8_search, score_path
from edge.export.job import ExportJob
from edge.export.tflite_meta import embed_manifest, import_litert_torch
from edge.library_output import native_output, third_party_output


@dataclass(frozen=True)
class Setting:
    name: str
    float_first_conv: bool = False  # also keep the first conv in float (as ONNX INT8's second setting)


SETTINGS = (  # in order of preference: the first within budget wins; the classifier and outputs stay float
    Setting("aeq-w8-per-channel-a8-minmax-float-head"),
    Setting("aeq-w8-per-channel-a8-minmax-float-edges", float_first_conv=True),
)

# AEQ calibrates image by image in LiteRT keeping every tensor (~50 ms an image on 2 cores): every
# third of the class-balanced calibration photos gave the same agreement as all 300 on flowers5.
CALIBRATION_IMAGES = 100


def _recipe(float_scopes: list[str]):
    """Static int8 for every supported op; the named op scopes (AEQ's 'output names;') stay in float."""
    from ai_edge_quantizer import recipe_manager
    from ai_edge_quantizer.algorithm_manager import AlgorithmName
    from ai_edge_quantizer.qtyping import TFLOperationName

    manager = recipe_manager.RecipeManager()
    manager.add_static_config(regex=".*", operation_name=TFLOperationName.ALL_SUPPORTED,
                              activation_num_bits=8, weight_num_bits=8)
    if float_scopes:  # later entries win: AEQ takes the last matching scope's config
        manager.add_quantization_config(regex="^(" + "|".join(map(re.escape, float_scopes)) + ")$",
                                        operation_name=TFLOperationName.ALL_SUPPORTED,
                                        algorithm_key=AlgorithmName.NO_QUANTIZE)
    return manager.get_quantization_recipe()


def _quantize(fp32: Path, floats: list[str], calibration: dict, threads: int, out: Path) -> Path:
    from ai_edge_quantizer import quantizer

    with warnings.catch_warnings(), third_party_output(), native_output():
        warnings.simplefilter("ignore")  # AEQ's calibration warns that it keeps every tensor: it must
        q = quantizer.Quantizer(str(fp32), _recipe(floats))
        ranges = q.calibrate(calibration, num_threads=threads)
        q.quantize(ranges, enable_progress_report=False).export_model(str(out), overwrite=True)
    return out


def _calibration(fp32: Path, job: ExportJob) -> dict:
    """AEQ's calibration data: {signature: [{input name: one image}, ...]} for CALIBRATION_IMAGES photos."""
    from ai_edge_litert.interpreter import Interpreter

    key, signature = next(iter(Interpreter(model_path=str(fp32)).get_signature_list().items()))
    x = job.calibration[:: max(1, len(job.calibration) // CALIBRATION_IMAGES)][:CALIBRATION_IMAGES]
    return {key: [{signature["inputs"][0]: x[i : i + 1]} for i in range(len(x))]}


def _float_scopes(ops: score_path.TfliteOps, s: Setting) -> list[str]:
    """The score path, the classifier and the outputs (and, if the setting says, the first conv): in
    float the logits are not clipped to the range the calibration photos gave them (quantized,
    confident photos' logits were cut there and their top-1 probability read up to 0.09 low)."""
    from ai_edge_quantizer.qtyping import TFLOperationName as Op

    heads = [scope for name, scope, out in zip(ops.names, ops.scopes, ops.outputs)
             if name == Op.FULLY_CONNECTED and out & ops.needs[0]]
    first_conv = [scope for name, scope in zip(ops.names, ops.scopes) if name == Op.CONV_2D][:1]
    return score_path.tflite_scopes(ops) + heads[-1:] + [ops.output_scope] + (first_conv if s.float_first_conv else [])


def export(job: ExportJob) -> Path:
    workdir = job.path(".litert/x").parent
    fp32 = job.artifact("tflite")  # built first (the format table's `requires`)
    import_litert_torch()  # the quantizer comes with the litert extra: the same one-line error without it
    ops, calibration = score_path.tflite_ops(fp32), _calibration(fp32, job)  # once for every candidate
    candidates = [int8_search.Candidate(s.name, partial(_quantize, fp32, _float_scopes(ops, s), calibration,
                                                        job.threads)) for s in SETTINGS]
    return int8_search.keep_winner(job, "tflite-int8", candidates, "litert", workdir, ".tflite", embed_manifest)
