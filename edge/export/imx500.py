"""imx500: the network for the Raspberry Pi AI Camera, which runs it on its own image sensor.

Three steps, each Sony's tool in the IMX500 toolchain (edge.export.imx500_tools says where they are):
1. MCT post-training quantization for the IMX500's platform capabilities (edge-mdt-tpc) on the
   export's calibration photos (check photos never calibrate), in its own process and venv
   (edge.export.imx500_quantize): the float model with the unknown score in a form the chip runs
   (edge.export.imx500_graph) in, MCT's quantized ONNX out (imx500/model.onnx).
2. imxconv-pt compiles that ONNX into imx500/packerOut.zip, with its memory report
   (model_MemoryReport.json) and tensor table (dnnParams.xml) beside it (edge.export.imx500_convert).
   A network that does not fit the chip's 8 MB is refused with the figures.
3. The parity check, like every format's, runs the quantized ONNX on ONNX Runtime with MCT's ops
   (edge.export.imx500_check) against PyTorch. On the Pi, `imx500-package` turns packerOut.zip into
   network.rpk (edge.runtime.imx500_camera does it, or says the command).
"""

from __future__ import annotations

import math
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch

from edge.errors import EdgeError
from edge.export import imx500_convert, imx500_tools
from edge.export.imx500_check import QUANTIZED_ONNX
from edge.export.imx500_graph import sensor_model, to_sensor_input
from edge.export.imx500_quantize import OUTPUT_NAMES, TPC_VERSION
from edge.export.job import ExportJob
from edge.export.onnx_meta import embed_manifest
from edge.export_dir import MANIFEST_FILE
from edge.manifest import Manifest, write_manifest

# MCT took 51-70 s and 2.7 GB on 100 flowers5 photos (2 cores); the search over more gave nothing measurable
CALIBRATION_IMAGES = 100


def _quantize(job: ExportJob, tools: imx500_tools.Toolchain, scratch: Path, onnx: Path) -> int:
    """MCT in its own process: the sensor model and calibration photos in `scratch`, the quantized ONNX out."""
    calibration = job.calibration[:: max(1, len(job.calibration) // CALIBRATION_IMAGES)][:CALIBRATION_IMAGES]
    if not len(calibration):
        raise EdgeError("imx500 needs calibration photos; drop --calibration-size 0")
    torch.save(sensor_model(job.model, job.manifest), scratch / "model.pt")
    np.save(scratch / "calibration.npy", to_sensor_input(calibration, job.manifest))
    command = [str(tools.quantize_python), "-m", "edge.export.imx500_quantize", str(scratch), str(job.threads)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 or not (scratch / "model.onnx").is_file():
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise EdgeError(f"imx500: MCT quantization failed ({(lines or ['no output'])[-1][:200]})")
    (scratch / "model.onnx").replace(onnx)
    return len(calibration)


def threshold_note(manifest: Manifest, step: float) -> str:
    """What the chip's score steps do to the unknown threshold: a score is a whole number of steps, so
    "below t" on the chip is "below the first step at or above t"."""
    t = manifest.unknown.threshold
    first = math.ceil(t / step - 1e-9)
    return (f"the chip gives the score in steps of {step:.6g} (1/{round(1 / step)}): 'below {t:.4f}' acts as 'below "
            f"{first * step:.4f}' ({first} steps), so a photo within one step above the threshold reads unknown")


def _notes(manifest: Manifest, memory: imx500_convert.MemoryReport, steps: list[dict], calibration: int) -> dict:
    named = dict(zip(OUTPUT_NAMES, steps))
    notes = {"settings": f"mct-ptq-imx500-tpc{TPC_VERSION}", "calibration_images": calibration,
             "memory": memory.to_dict(), "output_steps": named,
             "checked_with": "ONNX Runtime with MCT's quantizer ops on imx500/model.onnx (what the converter "
                             "compiled); not run on a sensor"}
    if manifest.unknown and "unknown_score" in named:
        notes["unknown_on_chip"] = threshold_note(manifest, named["unknown_score"]["step"])
    return notes


def export(job: ExportJob) -> Path:
    tools = imx500_tools.find()
    out = job.artifact("imx500").parent
    onnx = out / QUANTIZED_ONNX
    with tempfile.TemporaryDirectory(prefix="edge-imx500-") as tmp:
        calibration = _quantize(job, tools, Path(tmp), onnx)
        memory = imx500_convert.convert(onnx, out, tools, Path(tmp))
    int8 = job.manifest_for("imx500")
    embed_manifest(onnx, int8)  # after converting: the parity check reads it
    write_manifest(int8, out / MANIFEST_FILE)  # what the Pi reads beside packerOut.zip (edge.runtime.imx500_camera)
    job.notes["imx500"] = _notes(job.manifest, memory, imx500_convert.output_steps(out / "dnnParams.xml"), calibration)
    return job.artifact("imx500")
