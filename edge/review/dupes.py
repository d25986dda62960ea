"""Near-duplicate photos by perceptual hash: the same picture twice, in one class or in two."""

from __future__ import annotations

import numpy as np

from edge.review.inputs import ReviewInput

# Hamming distance (of 64 bits) at or below which two photos count as near-duplicates. Resized,
# recompressed or lightly cropped copies of one photo land at 0-6; different photos of one
# flower class rarely go below 12.
MAX_DISTANCE = 6


def _popcount(x: np.ndarray) -> np.ndarray:
    x = x.view(np.uint8)
    return np.unpackbits(x, axis=-1).sum(-1)


def pairs(hashes: list[int | None], max_distance: int = MAX_DISTANCE) -> list[tuple[int, int, int]]:
    """(i, j, distance) for i < j at or below `max_distance`; photos without a hash are left out."""
    idx = [i for i, h in enumerate(hashes) if h is not None]
    if len(idx) < 2:
        return []
    h = np.array([hashes[i] for i in idx], dtype=np.uint64)
    found = []
    for a in range(len(idx) - 1):  # one row at a time: memory stays O(N)
        xor = (h[a] ^ h[a + 1:]).reshape(-1, 1)
        dist = _popcount(xor)
        for b in np.flatnonzero(dist <= max_distance):
            found.append((idx[a], idx[a + 1 + b], int(dist[b])))
    return found


def duplicates(r: ReviewInput, hashes: list[int | None]) -> list[dict]:
    """Near-duplicate pairs, the ones across classes (one label must be wrong) first."""
    rows = []
    for i, j, d in pairs(hashes):
        a, b = r.classes[r.labels[i]], r.classes[r.labels[j]]
        rows.append({"a": r.shown[i], "b": r.shown[j], "index_a": i, "index_b": j, "distance": d,
                     "class_a": a, "class_b": b, "across_classes": a != b})
    return sorted(rows, key=lambda row: (not row["across_classes"], row["distance"]))
