"""Put this folder on PYTHONPATH to simulate a machine without torch (the Pi install)."""

import os
import sys

# EDGE_TEST_BLOCK=openvino,ai_edge_litert also hides those packages (a Pi's runtime-only venv has no OpenVINO).
EXTRA = tuple(name for name in os.environ.get("EDGE_TEST_BLOCK", "").split(",") if name)


class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in ("torch", "torchvision", "timm") or top in EXTRA:
            raise ImportError(f"{name} is blocked: simulated runtime-only install")
        return None


sys.meta_path.insert(0, _NoTorch())
