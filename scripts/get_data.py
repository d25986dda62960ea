"""Fill data/flowers5: the 600 tf_flowers photos edge is developed and tested on, each checked by SHA-256.

    python scripts/get_data.py                           # what `make data` runs
    python scripts/get_data.py --from PATH               # `make data FROM=PATH`

Where the photos come from, first that applies: --from PATH (a flowers5 copy, an extracted
flower_photos folder, or flower_photos.tgz); ../shared/data/flowers5 next to the clone; else the
public tf_flowers archive, downloaded and checked against the size and SHA-256 tensorflow_datasets
records for it (tensorflow_datasets/url_checksums/tf_flowers.txt). Whatever the source, a photo is
taken only if its bytes hash to an entry of data/flowers5.sha256 (`sha256sum` format, one line per
photo: hash, class/file name), and the folder appears whole (renamed into place) or not at all.
The photos are CC BY 2.0, by their Flickr photographers; the archive's LICENSE.txt names them and is
kept as data/flowers5.LICENSE.txt. Standard library only, so it runs before `make install`.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tarfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "flowers5"
LIST = ROOT / "data" / "flowers5.sha256"
SHARED = ROOT.parent / "shared" / "data" / "flowers5"
URL = "https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz"
# tensorflow/datasets, tensorflow_datasets/url_checksums/tf_flowers.txt (same file under download.tensorflow.org)
ARCHIVE_SIZE = 228_813_984
ARCHIVE_SHA256 = "4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c"
HINT = "download it by hand and run `make data FROM=path/to/flower_photos.tgz` (or FROM=path/to/a/flowers5 copy)"


class DataError(Exception):
    """One line that says what went wrong and what to do."""


def read_list(path: Path) -> dict[tuple[str, str], str]:
    """{(class, sha256): 'class/name'} from a sha256sum-format list."""
    wanted = {}
    for line in path.read_text().splitlines():
        digest, rel = line.split(maxsplit=1)
        wanted[(rel.split("/")[0], digest)] = rel
    return wanted


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def mismatches(folder: Path, wanted: dict[tuple[str, str], str]) -> list[str]:
    """The listed photos missing or changed in `folder`, and files there the list does not name."""
    expected = {rel: digest for (_, digest), rel in wanted.items()}
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    bad = [rel for rel, digest in expected.items() if rel not in present or sha256((folder / rel).read_bytes()) != digest]
    return sorted(bad + sorted(present - set(expected)))


def folder_members(src: Path) -> Iterator[tuple[str, str, bytes]]:
    """(class, file name, bytes) for every file of a folder, the class being its parent folder."""
    for path in sorted(src.rglob("*")):
        if path.is_file():
            yield path.parent.name, path.name, path.read_bytes()


def archive_members(src: Path) -> Iterator[tuple[str, str, bytes]]:
    """(class, file name, bytes) for every file of a .tgz, read in one streaming pass."""
    with tarfile.open(src, "r|gz") as tar:
        for member in tar:
            if member.isfile():
                parts = member.name.split("/")
                yield (parts[-2] if len(parts) > 1 else ""), parts[-1], tar.extractfile(member).read()


def select(members: Iterator[tuple[str, str, bytes]], wanted: dict[tuple[str, str], str], dest: Path,
           license_to: Path) -> None:
    """Write the listed photos into `dest` under their listed names, and the source's LICENSE.txt to `license_to`."""
    found = set()
    for cls, name, data in members:
        rel = wanted.get((cls, sha256(data)))
        if rel is not None and rel not in found:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            (dest / rel).write_bytes(data)
            found.add(rel)
        elif name == "LICENSE.txt":
            license_to.write_bytes(data)
    missing = sorted(set(wanted.values()) - found)
    if missing:
        raise DataError(f"{len(missing)} of the {len(wanted)} listed photos are not in the source (first: {missing[0]}); "
                        f"it is not tf_flowers or was changed: {HINT}")


def download(url: str, dest: Path, size: int = ARCHIVE_SIZE, digest: str = ARCHIVE_SHA256) -> Path:
    """Download `url` to `dest`, refusing anything but the archive of the recorded size and SHA-256."""
    part, h, got = dest.with_suffix(".part"), hashlib.sha256(), 0
    print(f"downloading {url} ({size / 1e6:.0f} MB)", file=sys.stderr)
    try:
        with urllib.request.urlopen(url, timeout=60) as response, part.open("wb") as f:
            while chunk := response.read(1 << 20):
                f.write(chunk)
                h.update(chunk)
                got += len(chunk)
    except OSError as e:
        part.unlink(missing_ok=True)
        raise DataError(f"cannot download {url} ({e}): {HINT}") from None
    if got != size or h.hexdigest() != digest:
        part.unlink(missing_ok=True)
        raise DataError(f"{url} gave {got} bytes with SHA-256 {h.hexdigest()}, not the recorded {size} bytes / {digest}: {HINT}")
    return part.replace(dest)


def fetch(*, out: Path = OUT, source: Path | None = None, list_path: Path = LIST, shared: Path = SHARED,
          url: str = URL, log=print) -> str:
    """Make `out` hold exactly the listed photos; returns what it did, in one line."""
    wanted = read_list(list_path)
    if out.is_dir():
        bad = mismatches(out, wanted)
        if not bad:
            return f"{out}: {len(wanted)} photos, every one matches {list_path.name}"
        raise DataError(f"{out} exists but {len(bad)} files differ from {list_path.name} (first: {bad[0]}); "
                        f"delete {out} and run `make data` again")
    if source is not None and not source.exists():
        raise DataError(f"--from {source}: no such file or folder")
    source = source or (shared if shared.is_dir() else None)
    archive = None
    if source is None:
        out.parent.mkdir(parents=True, exist_ok=True)
        source = archive = download(url, out.parent / "flower_photos.tgz")
    log(f"selecting the {len(wanted)} listed photos from {source}")
    members = folder_members(source) if source.is_dir() else archive_members(source)
    partial = out.parent / f".{out.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        select(members, wanted, partial, out.parent / f"{out.name}.LICENSE.txt")
        partial.rename(out)
    except (tarfile.TarError, OSError) as e:
        raise DataError(f"cannot read {source} ({e}): {HINT}") from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        if archive is not None:
            archive.unlink(missing_ok=True)  # 229 MB; the 39 MB kept are all that is used
    return f"{out}: {len(wanted)} photos from {source}, every one matches {list_path.name}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, help="a flowers5 copy, flower_photos folder or .tgz")
    parser.add_argument("--out", type=Path, default=OUT, help="folder to fill (default data/flowers5)")
    args = parser.parse_args(argv)
    try:
        print(fetch(out=args.out, source=args.source, shared=SHARED, url=URL, log=lambda line: print(line, file=sys.stderr)))
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
