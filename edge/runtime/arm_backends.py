"""The ARM-first runtimes: LiteRT (TFLite with XNNPACK) and ncnn, torch-free like the others."""

from __future__ import annotations

import threading

import numpy as np

from edge.errors import EdgeError, short_reason
from edge.library_output import native_output
from edge.manifest import MANIFEST_KEY
from edge.runtime.backend_base import Backend, missing_library


class LiteRTBackend(Backend):
    """TFLite through LiteRT's interpreter, with XNNPACK (its default delegate) on `threads` threads.
    The converted model has batch 1 (as a camera runs it), so a batch runs image by image."""

    name = "litert"
    library, extra = "ai_edge_litert", "tflite"

    def load(self) -> LiteRTBackend:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise EdgeError(f"{self.path}: {missing_library(self)}") from None
        try:
            with native_output():  # TFLite prints "INFO: Created TensorFlow Lite XNNPACK delegate" on fd 2
                interpreter = Interpreter(model_path=str(self.path), num_threads=self.threads or 1)
        except (ValueError, RuntimeError) as exc:
            raise EdgeError(f"{self.path}: LiteRT cannot load this model ({short_reason(exc)})") from None
        key, signature = next(iter(interpreter.get_signature_list().items()))
        self.runner = interpreter.get_signature_runner(key)
        self.input_name, self.outputs = signature["inputs"][0], signature["outputs"]  # logits, then the score
        # A full-integer model takes int8 (and may give it): the scale and zero point in its tensor
        # details map float32 in and out, as its own first op would.
        self.input_detail = self.runner.get_input_details()[self.input_name]
        self.output_details = self.runner.get_output_details()
        self.lock = threading.Lock()  # one interpreter: one invocation at a time
        with native_output():  # XNNPACK is applied on the first run, which prints an INFO line to fd 2
            self.runner(**{self.input_name: np.zeros(self.input_detail["shape"], self.input_detail["dtype"])})
        return self

    def run_all(self, batch: np.ndarray) -> list[np.ndarray]:
        with self.lock:
            rows = [self.runner(**{self.input_name: _quantize(batch[i : i + 1], self.input_detail)})
                    for i in range(len(batch))]
        return [np.concatenate([_dequantize(row[name], self.output_details[name]) for row in rows])
                for name in self.outputs]

    def output_count(self) -> int:
        return len(self.outputs)

    def embedded_manifest(self) -> str | None:
        """The flatbuffer's `metadata` entry MANIFEST_KEY (written by edge.export.tflite_meta)."""
        from ai_edge_litert import schema_py_generated as schema

        model = schema.Model.GetRootAs(self.path.read_bytes(), 0)
        for i in range(model.MetadataLength()):
            if model.Metadata(i).Name() == MANIFEST_KEY.encode():
                return model.Buffers(model.Metadata(i).Buffer()).DataAsNumpy().tobytes().decode("utf-8")
        return None


def _quantize(x: np.ndarray, detail: dict) -> np.ndarray:
    scale, zero = detail["quantization"]
    if not scale:
        return x.astype(detail["dtype"], copy=False)
    info = np.iinfo(detail["dtype"])
    return np.clip(np.round(x / scale) + zero, info.min, info.max).astype(detail["dtype"])


def _dequantize(y: np.ndarray, detail: dict) -> np.ndarray:
    scale, zero = detail["quantization"]
    return (y.astype(np.float32) - zero) * np.float32(scale) if scale else y.astype(np.float32, copy=False)


class NcnnBackend(Backend):
    """ncnn (model.ncnn.param + .bin, FP32 weights). Its FP16 storage and arithmetic stay at ncnn's
    defaults (on where the CPU has them, e.g. a Pi 5's Cortex-A76); precision "f32" turns them off."""

    name = "ncnn"
    library, extra = "ncnn", "ncnn"
    FP16_OPTIONS = ("use_fp16_packed", "use_fp16_storage", "use_fp16_arithmetic")

    def load(self) -> NcnnBackend:
        try:
            import ncnn
        except ImportError:
            raise EdgeError(f"{self.path}: {missing_library(self)}") from None
        self.net, self.mat = ncnn.Net(), ncnn.Mat
        self.net.opt.num_threads = self.threads or 1
        for option in self.FP16_OPTIONS if self.precision == "f32" else ():
            setattr(self.net.opt, option, False)
        if self.net.load_param(str(self.path)) != 0 or self.net.load_model(str(self.path.with_suffix(".bin"))) != 0:
            raise EdgeError(f"{self.path}: ncnn cannot load this model (or its .bin beside it); re-export it")
        self.inputs, self.outputs = self.net.input_names(), self.net.output_names()
        return self

    def run_all(self, batch: np.ndarray) -> list[np.ndarray]:
        rows = []
        for image in batch:  # ncnn runs one image (C, H, W) per extractor
            with self.net.create_extractor() as extractor:
                extractor.input(self.inputs[0], self.mat(np.ascontiguousarray(image)))
                rows.append([np.array(extractor.extract(name)[1]) for name in self.outputs])
        logits = np.stack([row[0].reshape(-1) for row in rows])
        return [logits, *(np.array([row[j].reshape(-1)[0] for row in rows]) for j in range(1, len(self.outputs)))]

    def output_count(self) -> int:
        return len(self.outputs)
