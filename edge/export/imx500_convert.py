"""Sony's converter: the quantized ONNX -> packerOut.zip, with its memory report and output steps.

`imxconv-pt` compiles the network for the IMX500's accelerator and writes `packerOut.zip` (what the
Pi's `imx500-package` turns into network.rpk), `model_MemoryReport.json` (how much of the chip's 8 MB
the network takes; "Fit In Chip") and `dnnParams.xml` (each tensor's bits and scale on the chip).
On flowers5 Lite0: ~100 s on 2 cores, 3.9 GB peak.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

from edge.errors import EdgeError
from edge.export.imx500_tools import Toolchain

KEEP = ("packerOut.zip", "model_MemoryReport.json", "dnnParams.xml")
MEMORY_REPORT = "model_MemoryReport.json"


@dataclass(frozen=True)
class MemoryReport:
    """The converter's memory report: what the network takes of the chip's memory."""

    fits: bool  # "Fit In Chip"
    used_mb: float  # "Memory Usage": the model's weights plus its runtime buffers
    available_mb: float  # "Total Memory Available On Chip" (8 MB)
    utilisation: float  # used / available, 0..1 (above 1 when it does not fit)
    model_mb: float  # the weights alone ("Model Memory Physical Size")
    runtime_mb: float  # activations and buffers ("Runtime Memory Physical Size")

    @classmethod
    def read(cls, path: Path) -> MemoryReport:
        data = json.loads(path.read_text(encoding="utf-8"))["Memory Report"]
        used, available = _mb(data["Memory Usage"]), _mb(data["Total Memory Available On Chip"])
        return cls(fits=bool(data["Fit In Chip"]), used_mb=used, available_mb=available,
                   utilisation=round(used / available, 3), model_mb=_mb(data["Model Memory Physical Size"]),
                   runtime_mb=_mb(data["Runtime Memory Physical Size"]))

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        return (f"{self.used_mb:.2f} of {self.available_mb:.0f} MB on the chip ({self.utilisation:.0%}: weights "
                f"{self.model_mb:.2f} MB, runtime {self.runtime_mb:.2f} MB)")


def _mb(text: str) -> float:
    """'5.20MB' / '151.00KB' / '1024B' -> MB."""
    value, unit = re.fullmatch(r"\s*([\d.]+)\s*([KMG]?B)\s*", text).groups()
    return round(float(value) * {"B": 1 / 1024**2, "KB": 1 / 1024, "MB": 1.0, "GB": 1024.0}[unit], 4)


def output_steps(dnn_params: Path) -> list[dict]:
    """Each output tensor on the chip, in order: its bits, signedness and step (the value of one count)."""
    root = ET.parse(dnn_params).getroot()
    return [{"bits": int(t.get("bitsPerElement")), "format": t.get("format"), "step": float(t.get("scale"))}
            for t in root.iter("outputTensor")]


def convert(onnx: Path, out: Path, tools: Toolchain, scratch: Path) -> MemoryReport:
    """imxconv-pt on `onnx`; KEEP's files land in `out`. Raises EdgeError when it fails or does not fit."""
    work = scratch / "converter"
    command = [str(tools.converter), "-i", str(onnx), "-o", str(work), "--overwrite-output"]
    done = subprocess.run(command, capture_output=True, text=True, env=tools.env)
    log = scratch / "imxconv.log"
    log.write_text(done.stdout + done.stderr, encoding="utf-8")
    if not (work / MEMORY_REPORT).is_file():
        raise EdgeError(f"imx500: imxconv-pt failed ({_first_error(done.stdout + done.stderr)})")
    report = MemoryReport.read(work / MEMORY_REPORT)
    if not report.fits:
        raise EdgeError(f"imx500: the network does not fit the IMX500: it needs {report.line()}; export a smaller "
                        "model for the AI Camera (efficientnet_lite0 or mobilenet_v2 fit)")
    if done.returncode != 0 or not (work / "packerOut.zip").is_file():
        raise EdgeError(f"imx500: imxconv-pt failed ({_first_error(done.stdout + done.stderr)})")
    for name in KEEP:
        shutil.copyfile(work / name, out / name)
    return report


def _first_error(text: str) -> str:
    """The converter's first ERROR line, without its timestamp and stack trace."""
    for line in text.splitlines():
        if "ERROR" in line:
            message = line.split("ERROR", 1)[1].lstrip(": ").strip()
            return message.split(" scala.")[0][:200]
    return (text.strip().splitlines() or ["no output"])[-1][:200]
