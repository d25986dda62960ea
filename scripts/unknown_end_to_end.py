"""The runtime's "unknown" answer end to end: far-away images rejected, flowers5 photos kept, per artifact.

    python scripts/unknown_end_to_end.py exports/flowers5 ../shared/data/flowers5 \
        --out benchmarks/unknown/end_to_end.json
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from unknown_check import far_images  # noqa: E402  (scripts/ is on sys.path when run as a script)

from edge.atomic import write_json
from edge.formats import runtime_preference
from edge.runtime import Classifier
from edge.runtime.sources import list_images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    photos = list_images(str(args.data))
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        far = far_images(Path(tmp))
        for fmt in runtime_preference():
            if not (args.export / fmt.path).is_file():
                continue
            clf = Classifier(args.export / fmt.path)
            rejected = sum(clf.predict(p).unknown for p in far)
            kept = sum(not clf.predict(p).unknown for p in photos)
            result[fmt.name] = {"far_images": len(far), "far_rejected": rejected, "photos": len(photos),
                                "photos_kept": kept, "threshold": clf.threshold}
            print(f"{fmt.name:14s} far rejected {rejected}/{len(far)}, flowers5 kept {kept}/{len(photos)}")
    result["note"] = ("flowers5 photos built the class means, so their keep rate is optimistic; the threshold "
                      "itself keeps 95% of held-out in-class scores (cross-validated at train time)")
    write_json(args.out, result)


if __name__ == "__main__":
    main()
