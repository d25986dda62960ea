"""Several SOURCE arguments (`edge-infer MODEL door=0 porch=rtsp://cam/live`): their names, their kinds,
and what a run of several refuses up front.

A source's name is what its JSON lines, MQTT topics, metrics labels and page tile call it: the `name`
of `name=SOURCE` ([a-z0-9_-]+), else its position (0, 1, ...). A bare camera index `0` is a SOURCE, not a
name: only `name=` names. Several sources (or one named source) run through edge.runtime.multi_source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from edge.errors import EdgeError

SEVERAL = "several"  # the kind run_infer hands on for several sources (or one named source)
NAMED = re.compile(r"([a-z0-9_-]+)=(.+)")
RESERVED = ("live", "api")  # the metrics label values of a single live source and of the HTTP API


@dataclass(frozen=True)
class NamedSource:
    name: str  # what JSON lines, MQTT topics, metrics labels and the page call this source
    spec: str  # the SOURCE itself: a video, a camera index or /dev/videoN, a stream URL, picam
    kind: str  # edge.runtime.sources.classify_spec(spec)


def split_name(text: str) -> tuple[str | None, str]:
    """'door=0' -> ('door', '0'); '0', 'rtsp://cam/live?a=b' or an existing file 'a=b.mp4' -> (None, text)."""
    match = NAMED.fullmatch(text)
    if match is None or Path(text).exists():
        return None, text
    return match.group(1), match.group(2)


def is_several(specs) -> bool:
    """More than one SOURCE, or one that is named: the run of several sources."""
    return bool(specs) and (len(specs) > 1 or split_name(specs[0])[0] is not None)


def named_sources(specs) -> list[NamedSource]:
    """The SOURCE arguments as named live sources; one line for a name given twice, a reserved name, or a
    source that is not a stream of frames (photos, folders and stdin run one at a time)."""
    from edge.runtime.sources import LIVE_KINDS, classify_spec

    out: list[NamedSource] = []
    for index, text in enumerate(specs):
        name, spec = split_name(text)
        name = name if name is not None else str(index)
        kind = classify_spec(spec)
        if kind not in LIVE_KINDS:  # each a stream of frames
            raise EdgeError(f"{spec}: several sources are cameras, 'picam', videos or stream URLs; {kind} "
                            f"{'is' if kind == 'stdin' else 'are'} classified one SOURCE at a time: edge-infer MODEL {spec}")
        if name in RESERVED:
            raise EdgeError(f"{text}: '{name}' is a reserved name (a metrics label); choose another, e.g. cam{index}={spec}")
        if any(s.name == name for s in out):
            raise EdgeError(f"{text}: the name '{name}' is taken by another source; name each one: "
                            f"door={spec} (names: a-z 0-9 _ -)")
        if any(s.spec == spec and kind != "video" for s in out):
            raise EdgeError(f"{spec}: given twice; a camera opens once (one SOURCE per camera)")
        out.append(NamedSource(name, spec, kind))
    return out


def check_several(opts) -> list[NamedSource]:
    """Refuse what several sources cannot do, before any model loads; -> the named sources."""
    found = named_sources(opts.sources)
    for flag, given in (("--show", opts.show), ("--save", opts.save)):
        if given:
            raise EdgeError(f"{flag} draws one source; with several, watch them with --serve (a tile each) or keep "
                            "clips with --record DIR")
    if getattr(opts, "update_from", None) is not None:  # its swap lands between two frames of one loop
        raise EdgeError("--update-from swaps the model between two frames of one source; several sources share "
                        "one model through a batcher, which does not take updates yet: run one source, or drop it")
    if (opts.loop or opts.realtime) and all(s.kind != "video" for s in found):  # with videos among them: theirs
        flag = "--loop" if opts.loop else "--realtime"
        raise EdgeError(f"{flag} plays video files; none of the sources is one: drop {flag}")
    return found
