"""The table of artifact formats: the one place that names an artifact's file, backend and precision.

Torch-free, beside the manifest: export writes each format to `path`, the runtime resolves an
export folder and a file's backend through it, and bench reads names and precision from it. Which function builds a
format lives in `edge.export.exporters` (it needs torch); a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from edge.errors import EdgeError


@dataclass(frozen=True, kw_only=True)
class ArtifactFormat:
    name: str  # used by --format, edge bench and export_report.json
    path: str  # file written inside the export folder
    backend: str  # torch | onnxruntime | openvino | litert | ncnn | imx500 (the AI Camera's sensor): what runs it
    int8: bool = False
    fp32_sibling: str | None = None  # the format an INT8 artifact must beat on speed
    requires: tuple[str, ...] = ()  # formats built first (their files are inputs)
    options: tuple[str, ...] = ()  # per-format export options it honours (checked like Ultralytics' args)
    sensor: bool = False  # runs on a camera's own chip (the AI Camera's IMX500), never on this CPU
    check_photos: int | None = None  # parity on at most this many check photos (None: all; a slow CPU simulation)

    @property
    def precision(self) -> str:
        return "int8" if self.int8 else "fp32"


FORMATS: dict[str, ArtifactFormat] = {f.name: f for f in (
    ArtifactFormat(name="torchscript", path="model.ts", backend="torch"),
    ArtifactFormat(name="onnx", path="model.onnx", backend="onnxruntime"),
    ArtifactFormat(name="onnx-int8", path="model.int8.onnx", backend="onnxruntime", int8=True, fp32_sibling="onnx",
                   requires=("onnx",), options=("max_drop",)),
    ArtifactFormat(name="openvino", path="openvino/model.xml", backend="openvino", requires=("onnx",),
                   options=("fp16_weights",)),
    ArtifactFormat(name="openvino-int8", path="openvino-int8/model.xml", backend="openvino", int8=True,
                   fp32_sibling="openvino", requires=("onnx", "openvino"), options=("max_drop",)),
    ArtifactFormat(name="tflite", path="model.tflite", backend="litert"),
    ArtifactFormat(name="tflite-int8", path="model.int8.tflite", backend="litert", int8=True, fp32_sibling="tflite",
                   requires=("tflite",), options=("max_drop",)),
    ArtifactFormat(name="ncnn", path="ncnn/model.ncnn.param", backend="ncnn"),
    ArtifactFormat(name="imx500", path="imx500/packerOut.zip", backend="imx500", int8=True, options=("max_drop",),
                   sensor=True, check_photos=100),
)}
FP32_DEFAULT = ("torchscript", "onnx", "openvino", "tflite")
INT8_DEFAULT = ("onnx-int8", "openvino-int8", "tflite-int8")
# Defaults built only where their converter is installed (the litert extra): others ask with --format.
CONVERTER = {"tflite": "litert_torch", "tflite-int8": "litert_torch"}
OPTION_FLAGS = {"max_drop": "--max-drop", "fp16_weights": "--fp16-weights"}


def artifact_files(path: Path) -> list[Path]:
    """The artifact and its weight file: OpenVINO's and ncnn's .bin, or ONNX external data (`.onnx.data`)."""
    return [p for p in (path, sidecar(path)) if p.is_file()]


def sidecar(path: Path) -> Path:
    """Where an artifact's weight file would be (it may have none): what artifact_files and updates look for."""
    return path.with_suffix(".bin") if path.suffix in (".xml", ".param") else path.with_name(path.name + ".data")


def backend_for_file(path: Path) -> str | None:
    """What runs an artifact file, by the suffix of its format's file (model.int8.onnx -> onnxruntime); None: no format's."""
    return next((f.backend for f in FORMATS.values() if Path(f.path).suffix == path.suffix.lower()), None)


def file_suffixes(backends: Iterable[str]) -> list[str]:
    """The artifact file suffixes these backends run, in table order ('.onnx', '.xml', ...)."""
    return list(dict.fromkeys(Path(f.path).suffix for f in FORMATS.values() if f.backend in backends))


def get_format(name: str) -> ArtifactFormat:
    if name not in FORMATS:
        raise EdgeError(f"unknown format '{name}'; choose from: {', '.join(FORMATS)}")
    return FORMATS[name]


def runtime_preference() -> list[ArtifactFormat]:
    """Torch-free artifacts in the order a runtime prefers them: INT8 before FP32, ONNX before OpenVINO.
    A sensor's artifact is not among them: only its camera runs it (edge.runtime.imx500_camera)."""
    usable = [f for f in FORMATS.values() if f.backend != "torch" and not f.sensor]
    return sorted(usable, key=lambda f: (f.backend != "onnxruntime", not f.int8))


def resolve_formats(names: list[str] | None, int8: bool) -> list[ArtifactFormat]:
    """Requested formats plus what they are built from, in build order."""
    wanted = list(names) if names else [n for n in FP32_DEFAULT if converter_installed(n)]
    if int8:
        wanted += [n for n in INT8_DEFAULT if n not in wanted and converter_installed(n)]
    needed = {get_format(n).name for n in wanted}
    for name in wanted:
        needed.update(FORMATS[name].requires)
    return [f for name, f in FORMATS.items() if name in needed]


def converter_installed(name: str) -> bool:
    from importlib.util import find_spec

    return name not in CONVERTER or find_spec(CONVERTER[name]) is not None


def check_options(chosen: list[ArtifactFormat], given: dict[str, object]) -> None:
    """An option that no chosen format honours is an error, not silently ignored."""
    for option, value in given.items():
        if value in (None, False):
            continue
        takers = [f.name for f in FORMATS.values() if option in f.options]
        if not any(option in f.options for f in chosen):
            raise EdgeError(f"{OPTION_FLAGS[option]} applies to {' and '.join(takers)}; "
                            f"add --format {takers[0]} (or --int8), or drop the flag")


def slower_than_fp32(latency_ms: dict[str, float]) -> dict[str, bool]:
    """For each INT8 format timed beside its FP32 sibling: whether its latency is not below the sibling's."""
    return {name: latency_ms[name] >= latency_ms[fmt.fp32_sibling] for name, fmt in FORMATS.items()
            if name in latency_ms and fmt.fp32_sibling in latency_ms}


def markdown_table() -> str:
    """The README's format table, made from FORMATS (tests/test_help.py keeps the README in step)."""
    rows = ["| format | file in the export folder | runs with | precision | built by default |",
            "|---|---|---|---|---|"]
    for f in FORMATS.values():
        default = "yes" if f.name in FP32_DEFAULT else "with --int8" if f.name in INT8_DEFAULT else "no"
        if f.name in CONVERTER:
            default += f" (where {CONVERTER[f.name]} is installed)"
        rows.append(f"| `{f.name}` | `{f.path}` | {f.backend} | {f.precision} | {default} |")
    return "\n".join(rows)
