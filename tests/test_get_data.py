"""`make data` (scripts/get_data.py): the photos chosen by their SHA-256, from a copy or the tf_flowers archive."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, real_photos

SCRIPT = ROOT / "scripts" / "get_data.py"
SHARED = ROOT.parent / "shared" / "data" / "flowers5"


def _module():
    spec = importlib.util.spec_from_file_location("get_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


get_data = _module()


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, Path]:
    """A flower_photos-like folder (two listed photos per class, one unlisted, a LICENSE.txt) and its list."""
    src, lines = tmp_path / "flower_photos", []
    for cls, paths in real_photos(3, ("daisy", "tulips")).items():
        (src / cls).mkdir(parents=True)
        for p in paths:
            shutil.copy(p, src / cls / p.name)
        lines += [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {cls}/{p.name}" for p in paths[:2]]
    (src / "LICENSE.txt").write_text("CC-BY 2.0 by the photographers\n")
    (tmp_path / "list.sha256").write_text("\n".join(lines) + "\n")
    return src, tmp_path / "list.sha256"


def _names(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _listed(list_path: Path) -> list[str]:
    return sorted(line.split()[1] for line in list_path.read_text().splitlines())


def test_the_committed_list_names_600_distinct_photos_120_per_class():
    wanted = get_data.read_list(get_data.LIST)
    assert len(wanted) == len(set(wanted.values())) == 600
    classes = [cls for cls, _ in wanted]
    assert {c: classes.count(c) for c in set(classes)} == dict.fromkeys(
        ("daisy", "dandelion", "roses", "sunflowers", "tulips"), 120)


@pytest.mark.skipif(not SHARED.is_dir(), reason="no ../shared/data/flowers5 here")
def test_the_committed_list_is_the_shared_copy():
    assert get_data.mismatches(SHARED, get_data.read_list(get_data.LIST)) == []


def test_copy_keeps_only_listed_photos_under_their_names(small, tmp_path):
    src, list_path = small
    (src / "daisy" / sorted((src / "daisy").iterdir())[0].name).rename(src / "daisy" / "renamed.jpg")  # found by hash
    out = tmp_path / "data" / "flowers5"
    line = get_data.fetch(out=out, source=src, list_path=list_path, log=lambda *_: None)
    assert "4 photos" in line and _names(out) == _listed(list_path)
    assert (tmp_path / "data" / "flowers5.LICENSE.txt").read_text().startswith("CC-BY")
    assert "every one matches" in get_data.fetch(out=out, source=None, list_path=list_path)  # second run: checks only


def test_archive_gives_the_same_folder(small, tmp_path):
    src, list_path = small
    archive = tmp_path / "flower_photos.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src, arcname="flower_photos")
    out = tmp_path / "out" / "flowers5"
    get_data.fetch(out=out, source=archive, list_path=list_path, log=lambda *_: None)
    assert _names(out) == _listed(list_path)
    assert get_data.mismatches(out, get_data.read_list(list_path)) == []


def test_a_changed_photo_is_refused_and_nothing_is_left(small, tmp_path):
    src, list_path = small
    victim = src / _listed(list_path)[0]
    victim.write_bytes(victim.read_bytes()[:-10])
    out = tmp_path / "data" / "flowers5"
    first = _listed(list_path)[0]
    with pytest.raises(get_data.DataError, match=f"1 of the 4 listed photos are not in the source .first: {first}"):
        get_data.fetch(out=out, source=src, list_path=list_path, log=lambda *_: None)
    assert sorted(p.name for p in out.parent.iterdir()) == ["flowers5.LICENSE.txt"]  # no partial folder


def test_an_existing_folder_that_differs_is_not_overwritten(small, tmp_path):
    src, list_path = small
    out = tmp_path / "flowers5"
    get_data.fetch(out=out, source=src, list_path=list_path, log=lambda *_: None)
    (out / "daisy" / "extra.jpg").write_bytes(b"x")
    with pytest.raises(get_data.DataError, match="1 files differ .*first: daisy/extra.jpg.*delete"):
        get_data.fetch(out=out, source=src, list_path=list_path)
    assert (out / "daisy" / "extra.jpg").exists()


def test_download_checks_size_and_sha256(small, tmp_path):
    src, list_path = small
    archive = tmp_path / "served.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src, arcname="flower_photos")
    data = archive.read_bytes()
    with pytest.raises(get_data.DataError, match="not the recorded"):
        get_data.download(archive.as_uri(), tmp_path / "a.tgz", len(data), "0" * 64)
    assert not list(tmp_path.glob("a.*"))
    got = get_data.download(archive.as_uri(), tmp_path / "b.tgz", len(data), hashlib.sha256(data).hexdigest())
    assert got.read_bytes() == data


def test_no_network_and_no_copy_says_in_one_line_what_to_do(tmp_path):
    result = subprocess.run([sys.executable, "-c", f"""
import sys; sys.path.insert(0, {str(SCRIPT.parent)!r}); import get_data
get_data.SHARED = get_data.Path({str(tmp_path / "none")!r})
get_data.URL = {(tmp_path / "missing.tgz").as_uri()!r}
sys.exit(get_data.main(["--out", {str(tmp_path / "flowers5")!r}]))
"""], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "cannot download" in error[0] and "make data FROM=" in error[0], result.stderr
    assert not (tmp_path / "flowers5").exists()
