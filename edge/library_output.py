"""Third-party output (NNCF progress bars and INFO lines, ONNX Runtime calibration notes, torch's
CUDA warning on CPU machines) stays behind `--verbose`: by default a person sees our lines only."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator

NOISY_LOGGERS = ("nncf", "torch.utils.cpp_extension", "onnxruntime", "root", "openvino")
_verbose = False


def set_verbose(verbose: bool) -> None:
    """Called once by a command: quiets (or restores) the libraries' loggers."""
    global _verbose
    _verbose = verbose
    for name in NOISY_LOGGERS:
        restored = logging.WARNING if name == "root" else logging.NOTSET  # Python's own defaults
        logging.getLogger(None if name == "root" else name).setLevel(restored if verbose else logging.ERROR)


@contextlib.contextmanager
def third_party_output() -> Iterator[None]:
    """Swallow what a library prints to stdout/stderr from Python (progress bars), unless verbose."""
    if _verbose:
        yield
        return
    set_verbose(False)  # again: NNCF resets its logger's level when it is first imported
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


@contextlib.contextmanager
def native_output() -> Iterator[None]:
    """Also swallow what C++ libraries write straight to file descriptors 1 and 2 (absl and TensorFlow
    Lite's INFO lines during a LiteRT conversion or interpreter start), unless verbose. Exceptions still
    propagate; only the text they did not raise is lost."""
    if _verbose:
        yield
        return
    import os
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
