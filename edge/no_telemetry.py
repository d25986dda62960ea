"""Third-party usage telemetry off in every edge process: edge sends nothing anywhere unasked.

Two libraries edge loads report usage over the network by default (measured with
`strace -f -e trace=connect`, see tests/test_no_network.py):
- `openvino_telemetry` (a dependency of `openvino`) sends events to Google Analytics from a forked
  child whenever `ov.convert_model` or `nncf.quantize` runs, unless a consent file in the user's
  home says no or `CI=true`. OpenVINO (`tools/ovc/telemetry_utils.py`) and NNCF
  (`nncf/telemetry/wrapper.py`) both fall back to their own no-op stub when `openvino_telemetry`
  cannot be imported: that is the switch they honour.
- ONNX Runtime (1.32 on Linux) uploads 1DS events to Microsoft from a background thread and keeps a
  database under ~/.cache/Microsoft; it honours `ORT_DISABLE_TELEMETRY=1` read when its environment
  starts (`onnxruntime.disable_telemetry_events()` after import does not stop the uploads).
Both switches live in this process alone (its `sys.modules`, its environment and its children's):
nothing is written into the user's home and no other program of theirs is affected. A user who
sets `ORT_DISABLE_TELEMETRY` themselves keeps their value.
"""

from __future__ import annotations

import os
import sys

OPENVINO_TELEMETRY = "openvino_telemetry"
ORT_SWITCH = "ORT_DISABLE_TELEMETRY"


def switch_off() -> None:
    """Called when the edge package is imported, before any of those libraries is."""
    os.environ.setdefault(ORT_SWITCH, "1")
    if OPENVINO_TELEMETRY not in sys.modules:
        sys.modules[OPENVINO_TELEMETRY] = None  # type: ignore[assignment]  # makes `import` raise ImportError
        return
    # A program that imported it before edge: withdraw consent in its singleton, if it was set up.
    try:
        sys.modules[OPENVINO_TELEMETRY].Telemetry().consent = False
    except (AttributeError, RuntimeError):  # never initialised: nothing has been sent through it yet
        pass
