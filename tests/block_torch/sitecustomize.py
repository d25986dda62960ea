"""Put this folder on PYTHONPATH to simulate a machine without torch (the Pi install)."""

import sys


class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch.") or name in ("torchvision", "timm"):
            raise ImportError(f"{name} is blocked: simulated runtime-only install")
        return None


sys.meta_path.insert(0, _NoTorch())
