"""Find the images of a dataset folder, drop bad files, and make a reproducible split."""

from __future__ import annotations

import hashlib
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

from edge.atomic import write_json
from edge.errors import EdgeError
from edge.runtime.images import is_image_name, load_rgb
from edge.runtime.walk import is_link_into, walk_files


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int


@dataclass
class Split:
    classes: list[str]
    train: list[Sample]
    val: list[Sample]
    root: Path
    seed: int
    val_fraction: float
    skipped: list[str] = field(default_factory=list)  # "path: reason" for every unusable file
    sources: list[str] = field(default_factory=list)  # every data folder, when more than one (edge.train.folders)
    # DATA/val/ of a train/ + val/ layout: no decision sees it (CV, strategy, temperature, unknown), the final
    # model is measured on it; train/val above are then both from DATA/train/
    holdout: list[Sample] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)  # folders not trained on, e.g. unknown/ (not saved)

    def relative(self, path: Path) -> str:
        """A photo's path in split.json: relative to the root, absolute when from another data folder."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path.resolve())

    def to_dict(self) -> dict:
        data = {
            "root": str(self.root),
            "seed": self.seed,
            "val_fraction": self.val_fraction,
            "classes": self.classes,
            "train": [[self.relative(s.path), s.label] for s in self.train],
            "val": [[self.relative(s.path), s.label] for s in self.val],
            "skipped": self.skipped,
        }
        if self.sources:  # only then: a one-folder run's fingerprint stays what it was
            data["sources"] = self.sources
        if self.holdout:
            data["holdout"] = [[self.relative(s.path), s.label] for s in self.holdout]
        return data

    def save(self, path: Path) -> str:
        """Write split.json; return its sha256 (the run's source fingerprint)."""
        data = self.to_dict()
        write_json(path, data)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    @classmethod
    def load(cls, path: Path, root: Path | None = None) -> Split:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            rows = data["train"] + data["val"] + data.get("holdout", [])
            root = Path(root) if root else locate_root(data["root"], Path(path).parent, [p for p, _ in rows])
            samples = lambda rows: [Sample(root / p, int(y)) for p, y in rows]  # noqa: E731
            split = cls(list(data["classes"]), samples(data["train"]), samples(data["val"]), root,
                        int(data["seed"]), float(data["val_fraction"]), list(data.get("skipped", [])),
                        [str(f) for f in data.get("sources", [])], samples(data.get("holdout", [])))
        except OSError as exc:
            raise EdgeError(f"{path}: cannot read the split ({exc.strerror})") from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # JSONDecodeError is a ValueError
            raise EdgeError(f"{path}: not a valid split file ({type(exc).__name__}: {str(exc)[:80]}); "
                            "restore it or retrain the run") from None
        if not all(isinstance(c, str) for c in split.classes) or any(
                not 0 <= s.label < len(split.classes) for s in split.train + split.val + split.holdout):
            raise EdgeError(f"{path}: classes and labels do not match; restore the file or retrain the run")
        return split


def locate_root(stored: str, run_dir: Path, photos: list[str]) -> Path:
    """The data folder a split's relative photo paths hang off: `stored` where it still is, else where
    a moved or copied run finds it: a relative root (runs before roots were stored absolute) under a
    folder above the run, or the root's last parts there (a project copied with its data). `stored` when
    nowhere: the caller names it and asks for --data."""
    probe = next((p for p in photos if not Path(p).is_absolute()), None)
    if probe is None:
        return Path(stored)
    parts = Path(stored).parts
    tails = [Path(stored)] if not Path(stored).is_absolute() else []
    tails += [Path(*parts[-k:]) for k in range(len(parts) - 1, 0, -1) if Path(*parts[-k:]) not in tails]
    above = Path(os.path.abspath(run_dir))
    for candidate in [Path(stored), *(a / t for t in tails for a in (above, *above.parents))]:
        if (candidate / probe).is_file():
            return Path(os.path.abspath(candidate))
    return Path(stored)


def _class_dirs(root: Path) -> list[Path]:
    """Sub-folders of `root`; a link back into the dataset (`loop -> .`) is no class."""
    try:
        entries = sorted(root.iterdir())
    except OSError as exc:
        raise EdgeError(f"{root}: cannot list the data folder ({exc.strerror}); check its permissions") from None
    dirs = [p for p in entries if p.is_dir() and not p.name.startswith(".") and not is_link_into(p, root)]
    for p in dirs:
        try:
            p.name.encode("utf-8")
        except UnicodeEncodeError:
            raise EdgeError(f"{root}: class folder {p.name!r} has a name that is not valid UTF-8; rename it") from None
    return dirs


UNKNOWN_FOLDER = "unknown"  # where edge-infer --collect files what the model called unknown: no class by default


def scan_class_folder(root: Path, skipped: list[str], left_out: list[str] | None = None,
                      unknown_as_class: bool = False) -> dict[str, list[Path]]:
    """{class name: usable image paths}; unusable files are appended to `skipped`, an unknown/ folder
    (unless `unknown_as_class`) to `left_out`."""
    found: dict[str, list[Path]] = {}
    for class_dir in _class_dirs(root):
        if class_dir.name.lower() == UNKNOWN_FOLDER and not unknown_as_class:
            if left_out is not None:
                left_out.append(str(class_dir))
            continue
        usable = []
        for path in walk_files(class_dir):
            if path.suffix.lower() == ".json":  # an edge-infer --collect sidecar, never an image
                continue
            try:
                # Every byte decoded (truncated JPEGs pass a header check), a JPEG at its 1/8 DCT scale:
                # libjpeg still reads all the coefficients, so truncation is still caught, in ~1/7 the time.
                load_rgb(path, min_side=1)
                usable.append(path)
            except EdgeError as exc:
                skipped.append(str(exc).split(";")[0])
        found[class_dir.name] = usable
    return found


def check_classes(found: dict[str, list[Path]], root: Path) -> None:
    if len(found) < 2:
        loose = sum(1 for p in root.iterdir() if p.is_file() and is_image_name(p))
        here = f" and {loose} photo{'' if loose == 1 else 's'} directly in it" if loose else ""
        raise EdgeError(f"{root}: found {len(found)} class folder{'' if len(found) == 1 else 's'}{here}; need at "
                        "least 2 classes: put the photos in one sub-folder per class (photos/roses/, photos/tulips/)")
    for name, paths in found.items():
        if len(paths) < 2:
            raise EdgeError(
                f"{root / name}: class '{name}' has {len(paths)} usable image(s); need at least 2 per class"
            )


def stratified_split(found: dict[str, list[Path]], val_fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Per class: shuffle with the seed and hold out `val_fraction` (at least one image)."""
    rng = random.Random(seed)
    train, val = [], []
    for label, name in enumerate(sorted(found)):
        paths = list(found[name])
        rng.shuffle(paths)
        n_val = min(len(paths) - 1, max(1, round(len(paths) * val_fraction)))
        val += [Sample(p, label) for p in paths[:n_val]]
        train += [Sample(p, label) for p in paths[n_val:]]
    return train, val


def make_split(root: str | Path, val_fraction: float = 0.2, seed: int = 0, unknown_as_class: bool = False) -> Split:
    """DATA/<class>/ split stratified; with DATA/train + DATA/val, train/ is split so and val/ is the holdout.

    The root is stored absolute: a run exported from another folder still finds its photos."""
    if not Path(root).is_dir():
        raise EdgeError(f"{root}: data folder not found; pass a folder with one sub-folder per class")
    root = Path(os.path.abspath(root))
    skipped: list[str] = []
    left_out: list[str] = []
    scan = lambda folder: scan_class_folder(folder, skipped, left_out, unknown_as_class)  # noqa: E731
    if (root / "train").is_dir() and (root / "val").is_dir():
        found, val_found = scan(root / "train"), scan(root / "val")
        check_classes(found, root / "train")
        if sorted(val_found) != sorted(found):
            raise EdgeError(f"{root}: train/ and val/ have different class folders; make them match")
        holdout = [Sample(p, i) for i, c in enumerate(sorted(found)) for p in val_found[c]]
    else:
        found, holdout = scan(root), []
        check_classes(found, root)
    train, val = stratified_split(found, val_fraction, seed)
    return Split(sorted(found), train, val, root, seed, val_fraction, skipped, holdout=holdout, left_out=left_out)
