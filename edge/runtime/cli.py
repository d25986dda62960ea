"""`edge-infer ARTIFACT SOURCE`: the torch-free runtime's command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from edge.cli_support import clean_errors, print_version, run
from edge.errors import EdgeError
from edge.runtime.classifier import Classifier, Prediction
from edge.runtime.stats import Summary


def _printer(as_json: bool):
    def emit(p: Prediction) -> None:
        if as_json:
            sys.stdout.write(json.dumps(p.to_dict()) + "\n")
            return
        best = ", ".join(f"{label} {prob:.1%}" for label, prob in p.top)
        frame = f"#{p.frame}" if p.frame is not None else ""
        if p.unknown:
            best = f"unknown (score {p.score:.3f}; nearest {best})"
        typer.echo(f"{p.source}{frame}  {best}")

    return emit


def _report(message: str) -> None:
    typer.echo(message, err=True)


def _apply_profile(device: str | None, artifact: Path, threads: int | None,
                   backend: str | None = None) -> tuple[Path, int | None]:
    """A device profile sets the thread count and, for an export folder, which artifact to run; with
    no profile, an export folder runs what `edge devices tune` measured fastest here (tuned once)."""
    if device is None:
        if artifact.is_dir() and threads is None and backend is None and (artifact / "export_report.json").is_file():
            from edge.devices import tune

            choice, fresh = tune.cached_or_tuned(artifact, seconds=0.5)
            _report(tune.describe(choice, fresh))
            return artifact / choice.artifact, choice.threads
        return artifact, threads
    from edge.devices.profiles import arch_mismatch, get_profile

    profile = get_profile(device)
    note = arch_mismatch(profile)
    if note:
        _report(note)
    if artifact.is_dir() and (artifact / profile.artifact).is_file():
        artifact = artifact / profile.artifact
    return artifact, threads or profile.resolved_threads()


def _run_source(clf: Classifier, *, source: str, kind: str, top_k: int, batch_size: int, workers: int, emit, sink,
                max_frames: int | None, stride: int, summary: Summary) -> Summary:
    from edge.runtime import pipeline, sources

    if kind == "stdin":
        return pipeline.run_bytes(clf, sources.read_stdin(), top_k, emit, summary)
    if kind == "images":
        paths = sources.list_images(source)
        if not paths:
            raise EdgeError(f"{source}: no images found (looked for .jpg .png .bmp .webp .tif ...)")
        return pipeline.run_images(clf, paths, k=top_k, batch_size=batch_size, workers=workers, emit=emit,
                                   report=_report, summary=summary)
    if kind == "video":
        frames = sources.video_frames(source, stride)
        if max_frames:
            frames = (f for i, f in zip(range(max_frames), frames))
        return pipeline.run_frames(clf, frames, k=top_k, emit=emit, summary=summary, on_frame=sink)
    if kind == "picamera":
        return pipeline.run_frames(clf, sources.picamera_frames(max_frames), k=top_k, emit=emit, summary=summary,
                                   on_frame=sink)
    camera = sources.LatestFrameCamera(source)
    try:
        return pipeline.run_frames(clf, camera.frames(max_frames), k=top_k, emit=emit, summary=summary,
                                   on_frame=sink)
    finally:
        camera.close()


def check_new_file(path: Path, flag: str) -> None:
    """Outputs never replace a user's file; refuse before any work, not after it."""
    from edge.ownership import check_parent_writable

    if path.exists():
        raise EdgeError(f"{path}: already exists; {flag} writes a new file, so delete it first or choose another path")
    check_parent_writable(path)


def _source_fps(source: str, stride: int) -> float | None:
    from edge.runtime.sources import video_fps

    fps = video_fps(source)
    return fps / max(stride, 1) if fps else None


def stop_on_sigterm() -> None:
    """SIGTERM (systemd, docker stop, kill) ends the run like Ctrl-C: the video is closed playable."""
    import signal
    import threading

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


@clean_errors
def infer(
    *,
    artifact: Annotated[Optional[Path], typer.Argument(
        help="model.onnx / model.int8.onnx / model.xml or an export folder.")] = None,
    source: Annotated[Optional[str], typer.Argument(
        help="Image, folder, glob, video, camera index or /dev/videoN, 'picam', or - for stdin.")] = None,
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per image/frame on stdout.")] = False,
    top_k: Annotated[int, typer.Option("--top-k", help="Labels per prediction.")] = 3,
    batch_size: Annotated[int, typer.Option(help="Images per inference call for folders.")] = 8,
    threads: Annotated[Optional[int], typer.Option(help="Inference threads (default: device profile or all cores).")] = None,
    workers: Annotated[int, typer.Option(help="Decode threads for folders.")] = 2,
    backend: Annotated[Optional[str], typer.Option(help="Force onnxruntime or openvino.")] = None,
    device: Annotated[Optional[str], typer.Option(help="Device profile name (edge devices list).")] = None,
    manifest: Annotated[Optional[Path], typer.Option(help="manifest.json for an artifact that carries none.")] = None,
    show: Annotated[bool, typer.Option("--show", help="Show frames with label and FPS in a window.")] = False,
    save: Annotated[Optional[Path], typer.Option(help="Write annotated video/camera frames to this .mp4.")] = None,
    max_frames: Annotated[Optional[int], typer.Option(help="Stop a video/camera after N frames.")] = None,
    stride: Annotated[int, typer.Option(help="Video files: classify every N-th frame.")] = 1,
    summary_json: Annotated[Optional[Path], typer.Option(help="Also write the summary here as JSON.")] = None,
    list_cameras: Annotated[bool, typer.Option("--list-cameras", help="List cameras OpenCV can open, then exit.")] = False,
    unknown: Annotated[bool, typer.Option("--unknown/--no-unknown", help="Answer 'unknown' for none of the "
                                          "classes (models exported with an unknown score).")] = True,
    keep: Annotated[Optional[float], typer.Option(help="Share of in-class photos to keep when deciding 'unknown' "
                                                  "(default: the manifest's, 0.95).")] = None,
    version: Annotated[bool, typer.Option("--version", callback=print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Classify images, folders, videos or camera frames with an exported model (no torch needed).

    Examples:

      edge-infer exports/flowers photos/ --json          # a folder, JSON lines on stdout

      edge-infer exports/flowers/model.int8.onnx 0 --show   # the webcam, in a window
    """
    if list_cameras:
        from edge.runtime.sources import list_cameras as find

        typer.echo("\n".join(find()) or "no cameras found (OpenCV opened none of /dev/video* or indices 0-7)")
        return
    if artifact is None or source is None:
        raise EdgeError("usage: edge-infer ARTIFACT SOURCE (see edge-infer --help)")
    artifact, threads = _apply_profile(device, artifact, threads, backend)
    from edge.runtime.sources import classify_spec

    # Folders decode on worker threads: ONNX Runtime threads that busy-wait would take their cores
    # (measured on flowers5, ONNX INT8: 262-266 img/s without spinning, 238-243 with it).
    kind = classify_spec(source)
    for path, flag in ((save, "--save"), (summary_json, "--summary-json")):
        if path is not None:
            check_new_file(path, flag)
    clf = Classifier(artifact, backend=backend, threads=threads, manifest=manifest, spin_wait=kind != "images",
                     unknown=unknown, keep=keep)
    answers_unknown = f", unknown below {clf.threshold:.3f}" if clf.threshold is not None else ""
    _report(f"model: {clf.path} ({clf.backend.name}, {clf.manifest.precision}, {clf.backend.threads} threads"
            f"{answers_unknown})")
    from edge.runtime.annotate import FrameSink

    sink = FrameSink(show, save, _source_fps(source, stride) if kind == "video" else None) if (show or save) else None
    summary = Summary()
    stop_on_sigterm()
    try:
        _run_source(clf, source=source, kind=kind, top_k=top_k, batch_size=batch_size, workers=workers,
                    emit=_printer(json_lines), sink=sink, max_frames=max_frames, stride=stride, summary=summary)
    except KeyboardInterrupt:
        _report("interrupted")
    finally:
        if sink is not None:
            sink.close()
    _report(summary.line())
    if summary_json is not None:
        from edge.atomic import write_json

        write_json(summary_json, summary.to_dict())
    if summary.classified == 0:
        raise EdgeError(f"{source}: nothing could be classified")


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command()(infer)


def main() -> None:
    run(app)


if __name__ == "__main__":
    main()
