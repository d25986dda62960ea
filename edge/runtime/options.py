"""What `edge-infer` is asked to do: one frozen dataclass, the single place its options are declared.

The command line builds its flags from these fields (edge.cli_options); tests and other programs
call `edge.runtime.infer.run_infer` with the same object. Plain data, torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edge.cli_options import arg, opt
from edge.errors import EdgeError


@dataclass(frozen=True, kw_only=True)
class InferOptions:
    artifact: Path | None = field(default=None, metadata=arg(
        "model.onnx / model.int8.onnx / model.xml or an export folder."))
    source: str | None = field(default=None, metadata=arg(
        "Image, folder, glob, video, camera index or /dev/videoN, 'picam', or - for stdin."))
    json_lines: bool = field(default=False, metadata=opt("One JSON object per image/frame on stdout.", "--json"))
    top_k: int = field(default=3, metadata=opt("Labels per prediction.", "--top-k"))
    batch_size: int = field(default=8, metadata=opt("Images per inference call for folders."))
    threads: int | None = field(default=None, metadata=opt(
        "Inference threads (default: what `edge devices tune` measured, the device profile's, or all cores)."))
    workers: int = field(default=2, metadata=opt("Decode threads for folders."))
    backend: str | None = field(default=None, metadata=opt("Force onnxruntime or openvino."))
    device: str | None = field(default=None, metadata=opt("Device profile name (edge devices list)."))
    manifest: Path | None = field(default=None, metadata=opt("manifest.json for an artifact that carries none."))
    show: bool = field(default=False, metadata=opt("Show frames with label and FPS in a window (needs a display).",
                                                   "--show"))
    save: Path | None = field(default=None, metadata=opt("Write annotated video/camera frames to this .mp4."))
    max_frames: int | None = field(default=None, metadata=opt("Stop a video/camera after N frames."))
    stride: int = field(default=1, metadata=opt("Video files: classify every N-th frame."))
    summary_json: Path | None = field(default=None, metadata=opt("Also write the summary here as JSON."))
    list_cameras: bool = field(default=False, metadata=opt("List cameras OpenCV can open, then exit.",
                                                           "--list-cameras"))
    unknown: bool = field(default=True, metadata=opt(
        "Answer 'unknown' for none of the classes (models exported with an unknown score).", "--unknown/--no-unknown"))
    keep: float | None = field(default=None, metadata=opt(
        "Share of in-class photos to keep when deciding 'unknown' (default: the manifest's, 0.95)."))
    # --collect: keep what the model is unsure of for the next training (edge.runtime.collect)
    collect: Path | None = field(default=None, metadata=opt(
        "Save photos/frames answered 'unknown' or below --collect-below here, as DIR/<label>/<time>.jpg + .json."))
    collect_below: float | None = field(default=None, metadata=opt(
        "Collect when the top-1 probability is below this (default: the run's estimated accuracy, 0.5-0.95)."))
    collect_rate: float = field(default=10.0, metadata=opt("Collect at most this many per minute."))
    collect_max_mb: float = field(default=500.0, metadata=opt("Stop collecting once DIR holds this many MB."))
    # --serve: a live page, an HTTP API, metrics and label events (edge.serve; extra edge-classifier[serve])
    serve: str | None = field(default=None, metadata=opt(
        "Serve a live page and an HTTP API on [HOST:]PORT (8080 = 127.0.0.1:8080; 0.0.0.0:8080 needs --token). "
        "SOURCE is optional: without it only the API runs.", metavar="[HOST:]PORT"))
    token: str | None = field(default=None, metadata=opt(
        "--serve: the secret clients send ('Authorization: Bearer SECRET' or ?token=SECRET).", envvar="EDGE_TOKEN"))
    no_auth: bool = field(default=False, metadata=opt("--serve on a network address without a token.", "--no-auth"))
    max_body_mb: float = field(default=20.0, metadata=opt("--serve: largest request body in MB (larger: 413)."))
    on_change: str | None = field(default=None, metadata=opt(
        "POST a JSON event to this URL when the live label changes (debounced by --hold).", metavar="URL"))
    hold: int = field(default=5, metadata=opt("--on-change: frames in a row the new label must hold."))
    min_confidence: float = field(default=0.5, metadata=opt("--on-change: top-1 probability those frames need."))

    def check(self) -> InferOptions:
        """Refuse what cannot work before any model loads (a one-line error, not a silent no-op)."""
        if self.artifact is None or (self.source is None and self.serve is None):
            raise EdgeError("usage: edge-infer ARTIFACT SOURCE (see edge-infer --help)")
        for name in ("top_k", "batch_size", "workers", "stride"):
            if getattr(self, name) < 1:
                raise EdgeError(f"--{name.replace('_', '-')} {getattr(self, name)}: pass 1 or more")
        if self.threads is not None and self.threads < 1:
            raise EdgeError(f"--threads {self.threads}: pass 1 or more, or leave it out to use every core")
        return self
