"""The Raspberry Pi AI Camera: the network runs on its IMX500 sensor, the Pi's CPU reads the output tensor.

`edge-infer EXPORT picam` on an AI Camera, with an export that holds the imx500 artifact, runs it here:
- `SensorBackend` stands for imx500/packerOut.zip in a Classifier: it holds no model the CPU runs, only
  what the sensor's output means (the manifest beside it) and the network file the camera loads;
- `network_rpk` makes that file once, as Sony's packager does on the Pi (`imx500-package`, Raspberry Pi
  OS package imx500-tools), and keeps it in the export folder;
- `sensor_frames` is the hardware-facing part, kept thin: picamera2's IMX500 helper uploads the network
  (created before Picamera2, as picamera2's examples/imx500 do), each frame's metadata carries the
  output tensor, and `Classifier.decide` turns it into the same Prediction every backend gives.

Not run on an AI Camera here (we have none): tests drive it with a fake picamera2 whose IMX500 returns
the output tensors the quantized ONNX gives for real photos (tests/runtime/test_imx500_camera.py).
"""

from __future__ import annotations

import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.errors import EdgeError
from edge.export_dir import ExportDir
from edge.formats import FORMATS
from edge.manifest import Manifest
from edge.runtime.backend_base import Backend
from edge.runtime.sources import PICAMERA_MISSING, Frame

FORMAT = FORMATS["imx500"]
PACKAGER = "imx500-package"  # Raspberry Pi OS: sudo apt install imx500-tools
NETWORK_FILE = "network.rpk"  # what imx500-package writes; what picamera2's IMX500 uploads
FULL_SENSOR = (4056, 3040)  # the IMX500's full resolution: the frame its region of interest is set in


def attached() -> bool:
    """True when libcamera lists an IMX500 among the cameras (as picamera2's IMX500 helper finds its camera);
    False where picamera2 is missing (not a Pi, or a venv without --system-site-packages)."""
    try:
        from picamera2 import Picamera2
    except ImportError:
        return False
    return any(info.get("Model") == "imx500" for info in Picamera2.global_camera_info())


def packager_command(packed: Path) -> str:
    return f"{PACKAGER} -i {packed} -o {packed.parent}"


def network_rpk(packed: Path, report=None) -> Path:
    """network.rpk beside packerOut.zip, made by imx500-package the first time (and kept there)."""
    rpk = packed.with_name(NETWORK_FILE)
    if rpk.is_file():
        return rpk
    tool = shutil.which(PACKAGER)
    if tool is None:
        raise EdgeError(f"{rpk}: not packaged yet; on the Pi run `sudo apt install -y imx500-tools` and "
                        f"`{packager_command(packed)}` (edge-infer runs it itself once {PACKAGER} is installed)")
    if report is not None:
        report(f"packaging {packed} into {rpk} with {PACKAGER} (once; it is kept in the export folder)")
    done = subprocess.run([tool, "-i", str(packed), "-o", str(packed.parent)], capture_output=True, text=True)
    if done.returncode != 0 or not rpk.is_file():
        last = ((done.stderr or done.stdout).strip().splitlines() or ["no output"])[-1][:200]
        raise EdgeError(f"{PACKAGER} could not package {packed} ({last}); run `{packager_command(packed)}` to see why")
    return rpk


def output_count(packed: Path) -> int:
    """How many output tensors the network gives: dnnParams.xml, inside packerOut.zip and beside it."""
    beside = packed.with_name("dnnParams.xml")
    try:
        text = beside.read_text(encoding="utf-8") if beside.is_file() else \
            zipfile.ZipFile(packed).read("dnnParams.xml").decode("utf-8")
    except (OSError, KeyError, zipfile.BadZipFile):
        raise EdgeError(f"{packed}: not an IMX500 converter output (no dnnParams.xml); re-export with "
                        "`edge export RUN --format imx500`") from None
    return text.count("<outputTensor ")


class SensorBackend(Backend):
    """The imx500 artifact in a Classifier: the camera's sensor runs it, so `run_all` is never this CPU's."""

    name = "imx500"
    library = "picamera2"  # from apt on Raspberry Pi OS (python3-picamera2)

    def load(self) -> SensorBackend:
        self.outputs = output_count(self.path)
        return self

    def run_all(self, batch: np.ndarray) -> list[np.ndarray]:
        raise EdgeError(f"{self.path}: the imx500 artifact runs on the AI Camera's sensor, which feeds it itself: "
                        "use SOURCE picam on a Raspberry Pi AI Camera (or another artifact of the export)")

    def output_count(self) -> int:
        return self.outputs


@dataclass(frozen=True)
class SensorNetwork:
    """What picam needs to run a network on the sensor: its file and the part of the sensor it sees."""

    rpk: Path
    crop: float  # crop_size / resize_size: the centred square of the sensor's shorter side the network sees

    def roi(self) -> tuple[int, int, int, int]:
        """(x, y, width, height) on the full sensor: the manifest's resize-then-centre-crop, as a region."""
        width, height = FULL_SENSOR
        side = round(min(width, height) * self.crop)
        return (width - side) // 2, (height - side) // 2, side, side

    def frames(self, limit: int | None = None) -> Iterator[Frame]:
        return sensor_frames(self, limit)


def sensor_network(clf, kind: str | None, report=None) -> SensorNetwork | None:
    """The AI Camera's network when `clf` runs the imx500 artifact (it needs SOURCE picam); else None."""
    if not isinstance(clf.backend, SensorBackend):
        return None
    if kind != "picamera":
        raise EdgeError(f"{clf.path}: the imx500 artifact runs on the AI Camera's sensor: its SOURCE is picam "
                        f"(not {kind or 'none'}); for other sources run another artifact of the export")
    manifest: Manifest = clf.manifest
    pre = manifest.preprocessing
    return SensorNetwork(network_rpk(clf.path, report), pre.crop_size / pre.resize_size)


def sensor_choice(export: ExportDir) -> tuple[Path | None, str]:
    """(the export's imx500 artifact, why) when picam is an AI Camera and the export holds one within its
    budget; (None, a note or '') otherwise."""
    if not attached():
        return None, ""
    if not export.artifact(FORMAT).is_file():
        return None, ("note: picam is a Raspberry Pi AI Camera; export with `--format imx500` to run the network "
                      "on its sensor instead of the Pi's CPU")
    report = export.report()
    row = report.row(FORMAT.name) if report else None
    if getattr(row, "within_budget", None) is False:
        return None, (f"note: picam is a Raspberry Pi AI Camera, but {FORMAT.path} missed the export's accuracy "
                      f"budget ({export.report_path}): the Pi's CPU runs the model instead")
    return export.artifact(FORMAT), (f"picam is a Raspberry Pi AI Camera (IMX500): running {FORMAT.name} "
                                     f"({FORMAT.path}) on its sensor; 'inference' below is the Pi's CPU time per frame")


def sensor_frames(network: SensorNetwork, limit: int | None = None) -> Iterator[Frame]:
    """picam frames with the sensor's output tensors (Frame.outputs). The first run uploads the network to
    the camera (minutes; picamera2 shows its progress); frames without outputs until then are skipped."""
    try:
        from picamera2 import Picamera2
        from picamera2.devices import IMX500
    except ImportError:
        raise EdgeError(PICAMERA_MISSING) from None
    imx500 = IMX500(str(network.rpk))  # before Picamera2: it loads the network into the sensor
    camera = Picamera2(imx500.camera_num)
    try:
        camera.configure(camera.create_preview_configuration(main={"format": "RGB888", "size": (640, 480)}))
        imx500.show_network_fw_progress_bar()
        camera.start()
        imx500.set_inference_roi_abs(network.roi())
        index = 0
        while limit is None or index < limit:
            start = time.perf_counter()
            request = camera.capture_request()
            try:
                outputs = imx500.get_outputs(request.get_metadata(), add_batch=True)
                bgr = request.make_array("main")  # RGB888 is B,G,R in memory: OpenCV's order
            finally:
                request.release()
            if outputs is None:
                continue
            yield Frame("picam", index, bgr, (time.perf_counter() - start) * 1000, outputs=outputs)
            index += 1
    finally:
        camera.close()
