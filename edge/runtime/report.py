"""Where the runtime's one-line reports go by default: stderr, at once (stdout carries the predictions)."""

from __future__ import annotations

import sys


def report_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
