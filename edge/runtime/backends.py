"""Inference backends behind one small interface; each imports its library only in load()."""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

import numpy as np

from edge.errors import EdgeError, did_you_mean, short_reason
from edge.export_dir import MANIFEST_FILE, ExportDir
from edge.formats import FORMATS, ArtifactFormat, backend_for_file, file_suffixes
from edge.manifest import MANIFEST_KEY, Manifest
from edge.runtime.arm_backends import LiteRTBackend, NcnnBackend
from edge.runtime.backend_base import Backend, missing_library
from edge.runtime.imx500_camera import SensorBackend


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


BACKENDS: dict[str, type[Backend]] = {"onnxruntime": OnnxRuntimeBackend, "openvino": OpenVINOBackend,
                                      "litert": LiteRTBackend, "ncnn": NcnnBackend, "imx500": SensorBackend}


def runtime_library_versions() -> dict[str, str]:
    """Versions of the backends' libraries installed here, by library name: what /v1/info, bench and the tune
    cache record (a new version may change the fastest artifact)."""
    from importlib.metadata import PackageNotFoundError, packages_distributions, version

    versions, providers = {}, None
    for backend in BACKENDS.values():
        try:
            versions[backend.library] = version(backend.library.replace("_", "-"))
        except PackageNotFoundError:  # installed under another name (onnxruntime-gpu, onnxruntime-openvino)?
            providers = packages_distributions() if providers is None else providers
            for distribution in providers.get(backend.library, ())[:1]:
                versions[backend.library] = version(distribution)
    return versions


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
    """An artifact file as given (an export folder resolves through edge.runtime.resolve)."""
    path = Path(path)
    if path.is_dir():
        raise EdgeError(f"{path}: a folder; pass an artifact file here, or load the folder with Classifier(folder)")
    if not path.is_file():
        raise EdgeError(f"{path}: model file not found")
    return path


def check_backend_name(name: str) -> None:
    if name not in BACKENDS:
        raise EdgeError(f"--backend {name}: not a backend here; choose one of {', '.join(BACKENDS)}"
                        f"{did_you_mean(name, BACKENDS)}")


def create_backend(path: str | Path, name: str | None = None, threads: int | None = None,
                   precision: str | None = None, spin_wait: bool = True) -> Backend:
    """The backend for one artifact file, loaded: `name` or the one its suffix names in the format table."""
    if name is not None:
        check_backend_name(name)
    path = resolve_artifact(path)
    name = name or backend_for_file(path)
    if name == "torch":  # importing torch here would break the runtime's no-torch contract (lint-imports)
        onnx = path.with_name(FORMATS["onnx"].path)
        raise EdgeError(f"{path}: TorchScript needs torch, and the runtime never imports it; run "
                        f"{onnx if onnx.is_file() else 'the export folder or its model.onnx'} instead, "
                        "or load this file in PyTorch with torch.jit.load")
    if name not in BACKENDS:
        known = ", ".join(file_suffixes(BACKENDS))
        raise EdgeError(f"{path}: unknown model type '{path.suffix}'; use {known}, or --backend")
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


