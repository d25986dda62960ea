"""Which score tells "none of my classes" best? Measured on frozen features, every score the same way.

Near-unknowns: leave one flowers5 class out, fit the head on the other four (5-fold, so in-class
scores are held out too) and score the fifth class's photos. Far-unknowns: scikit-image's bundled
sample photos plus synthetic noise, flat colours and gradients. For each score: AUROC, and the
share of unknowns rejected at a threshold that keeps 95 % of held-out in-class photos.

    python scripts/unknown_check.py ../shared/data/flowers5 --out benchmarks/unknown/result.json
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from edge.atomic import write_json
from edge.export.data import synthetic_images
from edge.train import crossval, linear_head, openset
from edge.train.config import TrainConfig
from edge.train.data import Sample
from edge.train.datasets import ImageDataset
from edge.train.features import extract
from edge.train.session import open_session
from edge.train.strategy import freeze_backbone
from edge.train.transforms import val_transform

KEEP = 0.95
L2 = 0.03  # the strength flowers5's cross-validation picks most often


def far_images(folder: Path) -> list[Path]:
    import skimage.data as data
    from PIL import Image

    names = ["astronaut", "camera", "cat", "coffee", "coins", "horse", "hubble_deep_field", "immunohistochemistry",
             "logo", "moon", "page", "rocket", "text", "brick", "grass", "gravel", "colorwheel", "checkerboard",
             "clock", "retina", "microaneurysms", "cell"]
    for name in names:
        image = getattr(data, name)()
        Image.fromarray(image.astype(np.uint8) * (255 if image.dtype == bool else 1)).save(folder / f"{name}.png")
    for i, image in enumerate(synthetic_images(30)):  # 10 each: noise, flat colours, gradients
        image.save(folder / f"synthetic{i:02d}.png")
    return sorted(folder.iterdir())


def features(s, samples: list) -> torch.Tensor:
    ds = ImageDataset(samples, val_transform(s.pre), min_side=s.manifest.preprocessing.decode_side)
    return extract(model=s.model, entry=s.entry, ds=ds, dev=s.dev, batch_size=32, views=1, seed=0,
                   description="features").x


def scores(head, means: torch.Tensor, standardise: torch.Tensor, x: torch.Tensor,
           train: torch.Tensor) -> dict[str, torch.Tensor]:
    """Higher = more like the known classes, for every score compared."""
    logits = head.logits(x)
    unit = torch.nn.functional.normalize
    residual = train - train.mean(0)
    cov = residual.T @ residual / len(train)
    precision = torch.linalg.inv(0.9 * cov + 0.1 * cov.diagonal().mean() * torch.eye(len(cov)))
    d = x[:, None] - means[None]
    cosine = openset.cosine_score(x, means)
    return {"max_softmax": torch.softmax(logits, 1).max(1).values,
            "energy": torch.logsumexp(logits, 1),
            "cosine_to_class_mean": cosine,  # edge's default score
            "cosine_plus_softmax_standardised": openset.combined_score(logits, cosine, standardise),  # the opt-in
            "mahalanobis": -torch.einsum("ncd,de,nce->nc", d, precision, d).min(1).values,
            "knn_cosine_k5": (unit(x, dim=1) @ unit(train, dim=1).T).topk(5, dim=1).values[:, -1],
            "vim": vim(head, x, train)}


def vim(head, x: torch.Tensor, train: torch.Tensor, principal: int = 64) -> torch.Tensor:
    """ViM (Wang et al. 2022): energy minus the scaled norm of the feature outside its principal subspace."""
    origin = train.mean(0)
    null = torch.linalg.svd(train - origin, full_matrices=False).Vh[principal:].T
    alpha = head.logits(train).max(1).values.mean() / ((train - origin) @ null).norm(dim=1).mean()
    return torch.logsumexp(head.logits(x), 1) - alpha * ((x - origin) @ null).norm(dim=1)


def fit_fold(x: torch.Tensor, y: torch.Tensor, classes: int):
    """A head, class means and the combined score's constants, as `edge train` makes them from (x, y)."""
    softmax, cosine = torch.empty(len(y)), torch.empty(len(y))
    for fold in crossval.stratified_folds(y.numpy(), 5, seed=0):  # held-out in-class scores, as in training
        train = torch.as_tensor(np.setdiff1d(np.arange(len(y)), fold))
        inner = linear_head.fit(x[train], y[train], classes, L2)
        softmax[fold] = torch.softmax(inner.logits(x[fold]), 1).amax(1)
        cosine[fold] = openset.cosine_score(x[fold], openset.class_means(x[train], y[train], classes))
    head = linear_head.fit(x, y, classes, L2)
    return head, openset.class_means(x, y, classes), openset.standardiser(softmax, cosine)


def auroc(inside: np.ndarray, outside: np.ndarray) -> float:
    return float((inside[:, None] > outside[None]).mean() + 0.5 * (inside[:, None] == outside[None]).mean())


def held_out_scores(x: torch.Tensor, y: torch.Tensor, others: torch.Tensor) -> tuple[dict, dict]:
    """In-class scores held out by 5-fold CV; the others' scores averaged over the folds' heads."""
    classes = int(y.max()) + 1
    inside: dict = {}
    outside: dict = {}
    for fold in crossval.stratified_folds(y.numpy(), 5, seed=0):
        train = np.setdiff1d(np.arange(len(y)), fold)
        fitted = fit_fold(x[train], y[train], classes)
        for name, value in scores(*fitted, x[fold], x[train]).items():
            inside.setdefault(name, np.empty(len(y)))[fold] = value.numpy()
        for name, value in scores(*fitted, others, x[train]).items():
            outside.setdefault(name, []).append(value.numpy())
    return inside, {k: np.mean(v, axis=0) for k, v in outside.items()}


def summary(inside: dict, outside: dict) -> dict:
    out = {}
    for name in inside:
        threshold = np.quantile(inside[name], 1 - KEEP)
        out[name] = {"auroc": round(auroc(inside[name], outside[name]), 4),
                     "rejected_at_95_keep": round(float((outside[name] < threshold).mean()), 4)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        s = open_session(TrainConfig(data=str(args.data), out=f"{tmp}/run", model=args.model), False, print)
        freeze_backbone(s.model, s.entry)
        samples = s.split.train + s.split.val
        x, y = features(s, samples), torch.tensor([p.label for p in samples])
        (Path(tmp) / "far").mkdir()
        far = features(s, [Sample(p, 0) for p in far_images(Path(tmp) / "far")])
    near = {}
    for left_out, name in enumerate(s.split.classes):
        keep = y != left_out
        y_known = torch.where(y[keep] > left_out, y[keep] - 1, y[keep])  # labels 0..3 for the four kept
        near[name] = summary(*held_out_scores(x[keep], y_known, x[~keep]))
    result = {"model": args.model, "keep": KEEP, "photos": len(y), "far_images": len(far),
              "far": summary(*held_out_scores(x, y, far)), "near_leave_one_class_out": near,
              "near_mean_auroc": {k: round(float(np.mean([near[c][k]["auroc"] for c in near])), 4)
                                  for k in next(iter(near.values()))}}
    write_json(args.out, result)
    for k, v in result["far"].items():
        print(f"{k:22s} far AUROC {v['auroc']:.3f} rejected {v['rejected_at_95_keep']:.1%} | "
              f"near mean AUROC {result['near_mean_auroc'][k]:.3f}")


if __name__ == "__main__":
    main()
