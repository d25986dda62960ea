"""PyTorch as one more backend: a torch module (eager or TorchScript) behind the runtime's interface.

Parity checks, the export's reference logits and bench all run PyTorch through this one class,
as Ultralytics' AutoBackend treats PyTorch like any other format.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from edge.errors import EdgeError
from edge.runtime.backends import Backend


class TorchBackend(Backend):
    name = "torch"

    def __init__(self, module: torch.nn.Module, threads: int | None = None, path: str | Path = "<pytorch>"):
        super().__init__(path, threads)
        self.module = module.eval()

    @classmethod
    def from_torchscript(cls, path: Path, threads: int | None = None) -> TorchBackend:
        try:
            module = torch.jit.load(str(path), map_location="cpu")
        except Exception as exc:  # RuntimeError for a corrupt archive, ValueError for a missing file
            raise EdgeError(f"{path}: not a readable TorchScript file ({type(exc).__name__}); re-export it") from None
        return cls(module, threads, path).load()

    def load(self) -> TorchBackend:
        if self.threads:
            torch.set_num_threads(self.threads)
        return self

    @torch.no_grad()
    def run_all(self, batch: np.ndarray) -> list[np.ndarray]:
        out = self.module(torch.from_numpy(batch))
        return [t.numpy() for t in out] if isinstance(out, (tuple, list)) else [out.numpy()]
