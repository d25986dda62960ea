"""The val/ folder of a train/ + val/ layout: photos no decision saw, measuring the final model.

Cross-validation, the strategy, the temperature and the unknown threshold are all decided on train/;
the deployed model (refit, or fine-tuned) then predicts val/ once. Its accuracy sits beside the
estimate with its own interval: two honest figures, from different photos.
"""

from __future__ import annotations

from edge.estimate import wilson_interval
from edge.train.datasets import ImageDataset
from edge.train.engine import make_loader, predict
from edge.train.session import Session
from edge.train.transforms import val_transform


def holdout_fields(s: Session) -> dict:
    """metrics.json's val_folder_* keys ({} without a val/ folder); the final model, centre crop as deployed."""
    if not s.split.holdout or not s.dev.is_main:
        return {}
    ds = ImageDataset(s.split.holdout, val_transform(s.pre), min_side=s.pre.decode_side)
    logits, labels = predict(s.model, make_loader(ds, s.dev, s.cfg.batch_size, False, s.cfg.seed), s.dev)
    correct, total = int((logits.argmax(1) == labels).sum()), len(labels)
    low, high = wilson_interval(correct, total)
    return {"val_folder_accuracy": round(correct / total, 4), "val_folder_accuracy_ci95": [round(low, 4), round(high, 4)],
            "val_folder_photos": total, "val_folder": str(s.split.root / "val")}


def holdout_line(fields: dict) -> str:
    low, high = fields["val_folder_accuracy_ci95"]
    return (f"accuracy on {fields['val_folder']}: {100 * fields['val_folder_accuracy']:.1f}% (95% CI "
            f"{100 * low:.1f}-{100 * high:.1f}, {fields['val_folder_photos']} photos no decision saw)")
