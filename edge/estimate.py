"""An accuracy figure with its doubt: the Wilson score interval for a proportion (torch-free)."""

from __future__ import annotations

import math


def wilson_interval(correct: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95 % interval for an accuracy of correct/total (Wilson 1927: sound at small n and near 100 %)."""
    if total == 0:
        return 0.0, 1.0
    p = correct / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def estimate_fields(correct: int, total: int, method: str) -> dict:
    low, high = wilson_interval(correct, total)
    return {"estimated_accuracy": round(correct / total, 4) if total else 0.0,
            "estimated_accuracy_ci95": [round(low, 4), round(high, 4)],
            "estimate_method": method, "estimate_photos": total}


def estimate_line(fields: dict) -> str:
    low, high = fields["estimated_accuracy_ci95"]
    return (f"estimated accuracy on unseen photos: {100 * fields['estimated_accuracy']:.1f}% "
            f"(95% CI {100 * low:.1f}-{100 * high:.1f}, {fields['estimate_method']}, {fields['estimate_photos']} photos)")
