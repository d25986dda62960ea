"""Inference backends behind one small interface; each imports its library only in load()."""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

import numpy as np

from edge.errors import EdgeError, did_you_mean, short_reason
from edge.export_dir import MANIFEST_FILE, ExportDir
from edge.formats import ArtifactFormat
from edge.library_output import native_output
from edge.manifest import MANIFEST_KEY, Manifest


class Backend:
    name = "base"
    library = ""  # the Python package load() imports: checked before an export folder offers the artifact
    extra = ""  # the pip extra that installs it

    def __init__(self, path: str | Path, threads: int | None = None, precision: str | None = None,
                 spin_wait: bool = True):
        self.path = Path(path)
        self.threads = threads
        self.precision = precision  # OpenVINO inference precision hint ("f32" keeps FP32 exact)
        # ONNX Runtime's worker threads busy-wait between runs: the lowest latency when the model
        # has the CPU to itself, but stolen time when decode threads need the cores (folders).
        self.spin_wait = spin_wait

    def load(self) -> Backend:
        raise NotImplementedError

    def run(self, batch: np.ndarray) -> np.ndarray:
        """(N, ...) float32 inputs -> (N, classes) float32 logits."""
        return self.run_all(batch)[0]

    def run_all(self, batch: np.ndarray) -> list[np.ndarray]:
        """Every output: logits first, then (when the model has it) the unknown score (N,)."""
        raise NotImplementedError

    def output_count(self) -> int:
        raise NotImplementedError

    def embedded_manifest(self) -> str | None:
        """The manifest JSON stored inside the artifact, if any."""
        return None


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"
    library = "onnxruntime"

    def load(self) -> OnnxRuntimeBackend:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if not self.spin_wait:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own Fail/InvalidGraph/NoSuchFile types
            raise EdgeError(f"{self.path}: ONNX Runtime cannot load this model ({short_reason(exc)})") from None
        self.input_name = self.session.get_inputs()[0].name
        self.first_output = [self.session.get_outputs()[0].name]
        return self

    def run(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(self.first_output, {self.input_name: batch})[0]

    def run_all(self, batch: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {self.input_name: batch})

    def output_count(self) -> int:
        return len(self.session.get_outputs())

    def embedded_manifest(self) -> str | None:
        return self.session.get_modelmeta().custom_metadata_map.get(MANIFEST_KEY)


class OpenVINOBackend(Backend):
    name = "openvino"
    library, extra = "openvino", "openvino"
    MAX_SHAPES = 4  # compiled input shapes kept at once

    def load(self) -> OpenVINOBackend:
        try:
            import openvino as ov
        except ImportError:
            raise EdgeError(f"{self.path}: {missing_library(self)}") from None
        core = ov.Core()
        try:
            self.model = core.read_model(str(self.path))
        except Exception as exc:
            raise EdgeError(f"{self.path}: OpenVINO cannot read this model ({short_reason(exc)})") from None
        self.core, self.config = core, {"PERFORMANCE_HINT": "LATENCY"}
        if self.threads:
            self.config["INFERENCE_NUM_THREADS"] = self.threads
        precision = self.precision or self._auto_precision()
        if precision:
            self.config["INFERENCE_PRECISION_HINT"] = precision
        self.requests: dict[tuple, object] = {}
        self.lock = threading.Lock()  # infer requests and the shape cache are not thread-safe
        dims = list(self.model.inputs[0].get_partial_shape())[1:]
        self.input_dims = tuple(d.get_length() for d in dims) if all(d.is_static for d in dims) else None
        if self.input_dims:  # batch 1 (cameras, single images) compiles at load
            self._request_for((1, *self.input_dims))
        return self

    def _request_for(self, shape: tuple[int, ...]):
        """An infer request compiled for exactly this input shape. OpenVINO's CPU plugin runs a
        static-shape model 4-15 % faster than a dynamic-batch one (measured on Lite0 INT8), and a
        run only meets a few batch sizes (the batch, the remainder, 1), so each gets its own."""
        if self.input_dims and tuple(shape[1:]) != self.input_dims:
            raise EdgeError(f"{self.path}: input {tuple(shape[1:])} does not fit the model's {self.input_dims}")
        if shape not in self.requests:
            if len(self.requests) >= self.MAX_SHAPES:
                self.requests.pop(next(iter(self.requests)))  # oldest first
            model = self.model.clone()
            try:
                model.reshape(list(shape))
            except Exception:  # a model that cannot take this shape statically stays dynamic
                model = self.model
            compiled = self.core.compile_model(model, "CPU", self.config)
            self.requests[shape] = compiled.create_infer_request()
        return self.requests[shape]

    def _auto_precision(self) -> str | None:
        """FP32 artifacts run at f32: on CPUs with AMX, OpenVINO would otherwise silently compute
        in bf16 and shift logits by up to ~0.25. INT8 artifacts keep OpenVINO's own choice."""
        text = self.embedded_manifest()
        return "f32" if text is None or Manifest.from_json(text, str(self.path)).precision == "fp32" else None

    def run_all(self, batch: np.ndarray) -> list[np.ndarray]:
        # Never share_inputs=True: a shared array stays bound to the compiled model, and another
        # request of that model later overwrote it (seen with OpenVINO 2026.4.1).
        with self.lock:
            result = self._request_for(batch.shape).infer({0: batch}, share_inputs=False)
            return [np.array(result[i]) for i in range(len(result))]

    def output_count(self) -> int:
        return len(self.model.outputs)

    def embedded_manifest(self) -> str | None:
        if self.model.has_rt_info(MANIFEST_KEY):
            return self.model.get_rt_info(MANIFEST_KEY).astype(str)
        return None


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
        # A full-integer model takes and gives int8 (the converter quantizes its interface): the scale
        # and zero point in its tensor details map float32 in and out, as its own first op would.
        self.input_detail = self.runner.get_input_details()[self.input_name]
        self.output_details = self.runner.get_output_details()
        self.lock = threading.Lock()  # one interpreter: one invocation at a time
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


BACKENDS: dict[str, type[Backend]] = {"onnxruntime": OnnxRuntimeBackend, "openvino": OpenVINOBackend,
                                      "litert": LiteRTBackend, "ncnn": NcnnBackend}
SUFFIXES = {".onnx": "onnxruntime", ".xml": "openvino", ".tflite": "litert", ".param": "ncnn"}


def missing_library(backend: type[Backend] | Backend) -> str:
    """What to install for a backend whose library is absent (one clause, for an error or a note)."""
    how = f"pip install 'edge-classifier[{backend.extra}]'" if backend.extra else f"pip install {backend.library}"
    return f"{backend.name} models need the {backend.library} package: {how}"


def installed(backend_name: str) -> bool:
    """True when the backend's library can be imported here (checked without importing it)."""
    backend = BACKENDS.get(backend_name)
    try:
        return backend is not None and importlib.util.find_spec(backend.library) is not None
    except (ImportError, ValueError):
        return False


def runnable(export: ExportDir) -> tuple[list[ArtifactFormat], str | None]:
    """(the export's artifacts this machine can run, best first; a note naming those it cannot).

    A Pi installs the runtime without OpenVINO: its export folder still holds the OpenVINO IRs,
    which must be passed over, not fail the run."""
    formats = export.within_budget()
    skipped = [f for f in formats if not installed(f.backend)]
    if not skipped:
        return formats, None
    reasons = sorted({missing_library(BACKENDS[f.backend]) for f in skipped if f.backend in BACKENDS})
    note = f"skipped {', '.join(f.name for f in skipped)} ({'; '.join(reasons) or 'no runtime backend'})"
    return [f for f in formats if f not in skipped], note


def resolve_artifact(path: str | Path) -> Path:
    """An artifact file; an export folder resolves to its best artifact this machine can run."""
    path = Path(path)
    if path.is_dir():
        formats, note = runnable(ExportDir(path))
        if formats:
            return ExportDir(path).artifact(formats[0])
        raise EdgeError(f"{path}: no exported model this machine can run inside"
                        f"{f' ({note})' if note else ''}; pass an artifact or an export folder")
    if not path.is_file():
        raise EdgeError(f"{path}: model file not found")
    return path


def create_backend(path: str | Path, name: str | None = None, threads: int | None = None,
                   precision: str | None = None, spin_wait: bool = True) -> Backend:
    if name is not None and name not in BACKENDS:
        raise EdgeError(f"--backend {name}: not a backend here; choose one of {', '.join(BACKENDS)}"
                        f"{did_you_mean(name, BACKENDS)}")
    path = resolve_artifact(path)
    name = name or SUFFIXES.get(path.suffix.lower())
    if name not in BACKENDS:
        raise EdgeError(f"{path}: unknown model type '{path.suffix}'; use .onnx, .xml, .tflite or .param, or --backend")
    return BACKENDS[name](path, threads or available_cores(), precision, spin_wait).load()


def available_cores() -> int:
    """Cores this process may run on (its affinity, as in a container or under taskset), not the machine's."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def sidecar_manifest(path: Path) -> str | None:
    """manifest.json beside the artifact, or one folder up (openvino/model.xml)."""
    for folder in (path.parent, path.parent.parent):
        candidate = folder / MANIFEST_FILE
        if candidate.is_file():
            try:
                return candidate.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise EdgeError(f"{candidate}: cannot read the manifest ({type(exc).__name__}); "
                                "re-export the model or pass --manifest FILE") from None
    return None


def load_manifest_text(backend: Backend) -> tuple[str, str]:
    """(manifest JSON, where it came from): embedded first, then the sidecar file."""
    text = backend.embedded_manifest()
    if text:
        return text, f"{backend.path} (embedded)"
    text = sidecar_manifest(backend.path)
    if text:
        return text, str(backend.path.parent / MANIFEST_FILE)
    raise EdgeError(f"{backend.path}: no manifest inside the model or beside it; re-export with `edge export`, "
                    "or pass the preprocessing explicitly with --manifest FILE")


