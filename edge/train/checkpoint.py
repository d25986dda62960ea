"""Checkpoints: written atomically, loaded with weights_only=True, rebuilt from their manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from edge.atomic import atomic_path
from edge.errors import EdgeError
from edge.manifest import Manifest
from edge.run_dir import RunDir


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, "module") else model  # DDP wraps the model


def save(path: Path, model: nn.Module, manifest: Manifest, config: dict, **extra: Any) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in unwrap(model).state_dict().items()}
    payload = {"format": "edge-checkpoint", "model_state": state, "manifest": manifest.to_dict(),
               "config": config, **extra}
    try:
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)
    except (OSError, RuntimeError) as exc:  # torch reports a full disk as a RuntimeError
        raise EdgeError(f"{path}: cannot write the checkpoint ({str(exc)[:100]}); "
                        "free some disk space or choose another --out") from None


def load(path: str | Path) -> dict[str, Any]:
    """A checkpoint dict; a run folder is accepted and resolved to its checkpoint.pt."""
    path = Path(path)
    if path.is_dir():
        path = RunDir(path).checkpoint_path
    if not path.is_file():
        raise EdgeError(f"{path}: checkpoint not found; pass a run folder written by `edge train`")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, pickle with classes, random bytes...
        raise EdgeError(f"{path}: not a readable checkpoint ({type(exc).__name__}); retrain or restore it") from None
    if not isinstance(payload, dict) or payload.get("format") != "edge-checkpoint":
        raise EdgeError(f"{path}: not an edge checkpoint (foreign file); pass a run folder written by `edge train`")
    if "manifest" not in payload:
        raise EdgeError(f"{path}: checkpoint has no manifest; retrain with this version of edge")
    payload["manifest"] = Manifest.from_dict(payload["manifest"], str(path))
    payload["path"] = path
    return payload


def rebuild(payload: dict[str, Any]) -> nn.Module:
    """The trained model in eval mode, built from the checkpoint's own manifest."""
    from edge.train.models import build_model
    from edge.train.zoo import get_entry

    manifest: Manifest = payload["manifest"]
    dropout = float(payload.get("config", {}).get("dropout", 0.2))
    model = build_model(get_entry(manifest.arch), manifest.num_classes, pretrained=False, dropout=dropout)
    try:
        model.load_state_dict(payload["model_state"], strict=True)
    except RuntimeError as exc:
        raise EdgeError(f"{payload['path']}: weights do not fit {manifest.arch} ({str(exc)[:120]})") from None
    return model.eval()
