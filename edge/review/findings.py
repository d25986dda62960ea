"""The photos to look at: misclassified ones, suspected label errors (cleanlab), in-class outliers."""

from __future__ import annotations

import numpy as np

from edge.errors import EdgeError
from edge.review.inputs import ReviewInput


def _photo(r: ReviewInput, i: int) -> dict:
    return {"index": int(i), "path": r.shown[i], "source": r.sources[i] if r.sources else ""}


def misclassified(r: ReviewInput) -> list[dict]:
    """Every photo whose top-1 is not its label, most confident mistake first."""
    pred = r.predicted
    wrong = np.flatnonzero(pred != r.labels)
    rows = [{**_photo(r, i), "true": r.classes[r.labels[i]], "predicted": r.classes[pred[i]],
             "confidence": round(float(r.probs[i, pred[i]]), 4)} for i in wrong]
    return sorted(rows, key=lambda row: -row["confidence"])


def label_issues(r: ReviewInput) -> list[dict]:
    """Confident learning (Northcutt et al. 2021) on the out-of-fold probabilities, via cleanlab:
    photos whose given label the other photos' predictions make unlikely, lowest self-confidence first."""
    try:
        from cleanlab.filter import find_label_issues
    except ImportError:
        raise EdgeError("edge review needs cleanlab: pip install 'edge-classifier[review]'") from None
    if len(np.unique(r.labels)) < 2:
        return []
    probs = r.probs / r.probs.sum(1, keepdims=True)  # cleanlab checks that rows sum to 1
    ranked = find_label_issues(r.labels, probs, return_indices_ranked_by="self_confidence", n_jobs=1)
    rows = []
    for rank, i in enumerate(ranked, 1):
        suggested = int(np.argmax(np.where(np.arange(len(r.classes)) == r.labels[i], -1, r.probs[i])))
        rows.append({"rank": rank, **_photo(r, i), "given": r.classes[r.labels[i]],
                     "suggested": r.classes[suggested], "self_confidence": round(float(r.probs[i, r.labels[i]]), 4),
                     "suggested_prob": round(float(r.probs[i, suggested]), 4)})
    return rows


def outliers(r: ReviewInput, share: float = 0.05) -> list[dict]:
    """Per class, the photos least like any class by the unknown score: those the deployed model
    calls "unknown" (below its threshold), or the lowest `share` of the class without a threshold."""
    if r.scores is None:
        return []
    rows = []
    for c, name in enumerate(r.classes):
        members = np.flatnonzero(r.labels == c)
        if r.threshold is not None:
            picked = members[r.scores[members] < r.threshold]
        else:
            picked = members[np.argsort(r.scores[members])[: max(1, round(share * len(members)))]]
        for i in picked[np.argsort(r.scores[picked])]:
            rows.append({**_photo(r, i), "class": name, "score": round(float(r.scores[i]), 4)})
    return rows
