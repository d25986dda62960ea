"""edge: photos -> a fast, verified image classifier on a Raspberry Pi or a laptop."""

from edge.no_telemetry import switch_off

__version__ = "0.1.0"

# Before anything imports OpenVINO, NNCF or ONNX Runtime: edge makes no network connection unasked.
switch_off()
