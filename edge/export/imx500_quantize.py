"""MCT post-training quantization for the IMX500, run as its own process in the tool venv.

`python -m edge.export.imx500_quantize WORKDIR` reads WORKDIR/model.pt (the float module, pickled)
and WORKDIR/calibration.npy (preprocessed calibration photos), quantizes for the IMX500's platform
capabilities (edge-mdt-tpc) and writes WORKDIR/model.onnx with MCT's quantizer ops. A process of its
own because MCT pins matplotlib and networkx below the versions edge trains with (its venv sees the
main one's torch and edge behind its own packages, see `make install-imx500`), and because its 2-3 GB
are freed when it ends.

MCT's exporter calls `torch.onnx.export` without `dynamo=`; since torch 2.9 that means the dynamo
exporter, which fails on MCT's quantizer modules. The TorchScript exporter (`dynamo=False`) writes
the quantized ONNX (opset 20) the converter takes.
"""

from __future__ import annotations

import functools
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

TPC_VERSION = "1.0"  # the IMX500 platform capabilities every converter since 3.14 takes (edge-mdt-tpc's table)
BATCH = 10  # calibration photos per MCT iteration
OUTPUT_NAMES = ["logits", "unknown_score"]


def quantize(model: torch.nn.Module, calibration: np.ndarray, out: Path) -> Path:
    import model_compression_toolkit as mct
    from edgemdt_tpc import get_target_platform_capabilities

    batches = [torch.from_numpy(calibration[i : i + BATCH]) for i in range(0, len(calibration), BATCH)]

    def representative():
        yield from ([b] for b in batches)

    tpc = get_target_platform_capabilities(tpc_version=TPC_VERSION, device_type="imx500")
    quantized, _ = mct.ptq.pytorch_post_training_quantization(model, representative, target_platform_capabilities=tpc)
    outputs = model(batches[0][:1])
    names = OUTPUT_NAMES[: len(outputs)] if isinstance(outputs, (tuple, list)) else OUTPUT_NAMES[:1]
    export = torch.onnx.export
    torch.onnx.export = functools.partial(export, dynamo=False)
    try:
        mct.exporter.pytorch_export_model(quantized, save_model_path=str(out), repr_dataset=representative,
                                          output_names=names)
    finally:
        torch.onnx.export = export
    return out


def main(workdir: str) -> None:
    work = Path(workdir)
    torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
    model = torch.load(work / "model.pt", weights_only=False).eval()  # written by edge.export.imx500 a moment ago
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize(model, np.load(work / "calibration.npy"), work / "model.onnx")


if __name__ == "__main__":
    main(sys.argv[1])
