"""oof.json: every evaluated photo's out-of-fold prediction, kept in the run for `edge review`.

The frozen path predicts every labelled photo with a head fit on the other outer folds (nested
CV), the SGD paths predict their held-out split; either way no photo's prediction saw its label,
which is what confident learning (cleanlab) needs to find label errors. Probabilities are
calibrated with the run's temperature, as the deployed model prints them.
"""

from __future__ import annotations

from pathlib import Path

import torch

from edge.atomic import write_json
from edge.train.data import Sample, Split

SCHEMA = 1


def save_oof(path: Path, split: Split, samples: list[Sample], logits: torch.Tensor, labels: torch.Tensor, *,
             temperature: float, method: str, unknown: dict, scores: torch.Tensor | None) -> Path | None:
    """Write RUN/oof.json, one row per photo of `samples` (the evaluation's, in its order: each row keeps the
    photo's path); None (nothing written) when the predictions and the photos disagree in number or label."""
    if len(samples) != len(labels) or [s.label for s in samples] != labels.tolist():
        return None
    probs = torch.softmax(logits.float() / temperature, 1).numpy()
    rows = []
    for i, s in enumerate(samples):
        row = {"path": split.relative(s.path),
               "label": s.label, "probs": [round(float(p), 6) for p in probs[i]]}
        if scores is not None:
            row["score"] = round(float(scores[i]), 6)
        rows.append(row)
    return write_json(path, {
        "schema": SCHEMA, "method": method, "root": str(split.root), "classes": list(split.classes),
        "temperature": temperature, "unknown_score": unknown.get("score"),
        "unknown_threshold": unknown.get("threshold"), "photos": rows})


def frozen_scores(cosine: torch.Tensor, nested_logits: torch.Tensor, tensors: dict) -> torch.Tensor:
    """Each photo's unknown score: `cosine`, its k-fold held-out score the threshold came from; the combined
    score adds the nested-CV softmax, standardised as the deployed graph does."""
    from edge.train import openset

    standardise = tensors.get(openset.STANDARDISE_KEY)
    return cosine if standardise is None else openset.combined_score(nested_logits, cosine, standardise)
