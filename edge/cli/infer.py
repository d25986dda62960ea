"""`edge-infer MODEL SOURCE` (and `edge infer`): parse options, choose the artifact, run.

The command line is the one place that joins the runtime and the devices layer: the device picks
the artifact (profile or autotune), the runtime runs it.
"""

from __future__ import annotations

import inspect
from typing import Annotated

import typer

from edge.cli_options import command
from edge.cli_support import clean_errors, print_version, run
from edge.runtime.options import InferOptions

VERSION = inspect.Parameter("version", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Annotated[
    bool, typer.Option("--version", callback=print_version, is_eager=True, help="Print the version and exit.")])


def infer(opts: InferOptions) -> None:
    """Classify images, folders, videos or camera frames with an exported model (no torch needed).

    Examples:

      edge-infer exports/flowers photos/ --json          # a folder, JSON lines on stdout

      edge-infer exports/flowers/model.int8.onnx 0 --save clip.mp4 --max-frames 100   # the webcam

      edge-infer exports/flowers door=0 porch=rtsp://cam/live --serve 8080   # two cameras, one model, a tile each
    """
    from edge.devices.choose import choose
    from edge.runtime.infer import report_stderr, run_infer

    if opts.list_cameras:
        from edge.runtime.sources import list_cameras

        typer.echo("\n".join(list_cameras()) or "no cameras found (OpenCV opened none of /dev/video* or indices 0-7)")
        return
    opts.check()
    from edge.runtime.updates.startup import startup_artifact

    start_with = startup_artifact(opts, report_stderr)  # --update-from: the store's complete version, or ARTIFACT
    artifact, threads = choose(start_with, device=opts.device, threads=opts.threads, backend=opts.backend,
                               report=report_stderr, source=opts.source)
    serve = None
    if opts.serve is not None or opts.watches_state:  # page, API, label events (--on-change --mqtt --gpio --record)
        from edge.serve.infer import run_served as serve
    run_infer(opts, artifact=artifact, threads=threads, serve=serve)


infer_command = clean_errors(command(InferOptions, infer, extra=(VERSION,)))
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command()(infer_command)


def main() -> None:
    run(app)


if __name__ == "__main__":
    main()
