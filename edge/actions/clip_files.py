"""The files of --record DIR: clip names, sidecars, the temp names a killed run leaves, and the size cap.

A clip is `clip-<UTC time>-<source>-<label>.mp4` with `<same name>.json` beside it. Only such a pair,
whose sidecar says it is an edge clip of that name, counts as edge's: the cap deletes those, oldest
first, and nothing else in DIR. A clip is written under a hidden temp name (`.clip-<pid>-<random>.part.mp4`;
OpenCV picks the container from the suffix), then its sidecar and the clip are renamed into place, so a
killed run never leaves a half clip under a clip name; the next start deletes the temps of processes
that are gone, and a sidecar whose clip never arrived.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path

CLIP_RE = re.compile(r"^clip-\d{8}T\d{6}\.\d{3}Z-[A-Za-z0-9_-]+\.mp4$")
TEMP_RE = re.compile(r"^\.clip-(\d+)-[0-9a-f]+\.part\.(mp4|json)$")
KIND = "edge-clip"  # the sidecar's "kind": with the name, what marks a pair as edge's


def slug(text: str) -> str:
    """A source or label as part of a file name: letters, digits, - and _ only."""
    return re.sub(r"[^A-Za-z0-9_]+", "-", text).strip("-")[:40] or "x"


def clip_name(source: str, label: str, iso_time: str) -> str:
    """'camera:0', 'roses', '2024-05-01T12:00:00.123+00:00' -> 'clip-20240501T120000.123Z-camera-0-roses.mp4'."""
    stamp = re.sub(r"[-:]", "", iso_time[:23]) + "Z"
    named = Path(source).stem if "/" in source or "." in source else source  # a video or stream URL: its stem
    return f"clip-{stamp}-{slug(named)}-{slug(label)}.mp4"


def temp_path(folder: Path, suffix: str) -> Path:
    return folder / f".clip-{os.getpid()}-{secrets.token_hex(4)}.part{suffix}"


def sidecar_of(clip: Path) -> Path:
    return clip.with_suffix(".json")


def publish(temp_clip: Path, clip: Path, sidecar: dict) -> None:
    """The sidecar, then the clip, each renamed into place whole (a sidecar alone is swept at the next start)."""
    temp_json = temp_path(clip.parent, ".json")
    try:
        temp_json.write_text(json.dumps({"kind": KIND, "clip": clip.name, **sidecar}, indent=1) + "\n", encoding="utf-8")
        os.replace(temp_json, sidecar_of(clip))
    finally:
        temp_json.unlink(missing_ok=True)
    os.replace(temp_clip, clip)


def _is_ours(sidecar: Path, clip_name_: str) -> bool:
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("kind") == KIND and data.get("clip") == clip_name_


def owned_clips(folder: Path) -> list[tuple[Path, int]]:
    """(clip, bytes of clip and sidecar) for every clip edge wrote in `folder`, oldest first (the name's time)."""
    found = []
    for path in sorted(folder.iterdir()):
        sidecar = sidecar_of(path)
        if CLIP_RE.match(path.name) and _is_ours(sidecar, path.name):
            try:
                found.append((path, path.stat().st_size + sidecar.stat().st_size))
            except OSError:  # deleted meanwhile
                continue
    return found


def enforce_cap(folder: Path, max_bytes: float) -> list[Path]:
    """Delete edge's oldest clips (and their sidecars) until they hold at most `max_bytes`; the ones deleted."""
    clips = owned_clips(folder)
    total, deleted = sum(size for _, size in clips), []
    for path, size in clips:
        if total <= max_bytes:
            break
        path.unlink(missing_ok=True)  # the clip first: a sidecar left alone is swept as an orphan
        sidecar_of(path).unlink(missing_ok=True)
        total -= size
        deleted.append(path)
    return deleted


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def sweep(folder: Path) -> list[Path]:
    """Delete what a killed run left: temps of processes that are gone, sidecars whose clip is missing."""
    removed = []
    for path in folder.iterdir():
        temp = TEMP_RE.match(path.name)
        orphan = (path.suffix == ".json" and CLIP_RE.match(path.with_suffix(".mp4").name)
                  and not path.with_suffix(".mp4").exists() and _is_ours(path, path.with_suffix(".mp4").name))
        if (temp and not _alive(int(temp.group(1)))) or orphan:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
