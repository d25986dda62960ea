"""What `edge-infer` is asked to do: one frozen dataclass, the single place its options are declared.

The command line builds its flags from these fields (edge.cli_options); tests and other programs
call `edge.runtime.infer.run_infer` with the same object. Plain data, torch-free.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from edge.cli_options import arg, opt
from edge.errors import EdgeError
from edge.formats import FORMATS
from edge.runtime.named_sources import is_several

# Help texts read from the format table, so a new format or backend appears in --help by itself.
ARTIFACT_FILES = " / ".join(dict.fromkeys(f.path.rsplit("/", 1)[-1] for f in FORMATS.values()))
RUNTIME_BACKENDS = ", ".join(dict.fromkeys(f.backend for f in FORMATS.values() if f.backend != "torch"))
# What an option needs installed (module -> distribution), checked before autotune and model loading.
OPTION_NEEDS = {
    "serve": ("--serve", "serve", {"starlette": "starlette", "uvicorn": "uvicorn", "prometheus_client": "prometheus-client",
                                   "python_multipart": "python-multipart"}),
    "mqtt": ("--mqtt", "mqtt", {"paho": "paho-mqtt"}),
}
GPIO_MISSING = ("--gpio needs gpiozero, which is not installed: pip install 'edge-classifier[gpio]' (on Raspberry Pi OS: "
                "sudo apt install python3-gpiozero, in a venv made with --system-site-packages)")


@dataclass(frozen=True, kw_only=True)
class InferOptions:
    artifact: Path | None = field(default=None, metadata=arg(
        f"An exported model ({ARTIFACT_FILES}) or an export folder (its best artifact runnable here)."))
    sources: list[str] | None = field(default=None, metadata=arg(
        "Image, folder, glob, video, camera index or /dev/videoN, 'picam', or - for stdin. Several cameras, "
        "videos or stream URLs run in one process (one model, a thread each), named door=SOURCE or by position.",
        metavar="SOURCE"))
    source: str | None = None  # the run's one SOURCE: what programs pass; set from `sources` when that holds one, unnamed
    json_lines: bool = field(default=False, metadata=opt("One JSON object per image/frame on stdout.", "--json"))
    top_k: int = field(default=3, metadata=opt("Labels per prediction.", "--top-k"))
    batch_size: int = field(default=8, metadata=opt("Images per inference call for folders."))
    threads: int | None = field(default=None, metadata=opt(
        "Inference threads (default: what `edge devices tune` measured, the device profile's, or all cores)."))
    workers: int = field(default=2, metadata=opt("Decode threads for folders."))
    backend: str | None = field(default=None, metadata=opt(
        f"Run with this backend ({RUNTIME_BACKENDS}); with an export folder, its best artifact for it."))
    device: str | None = field(default=None, metadata=opt("Device profile name (edge devices list)."))
    manifest: Path | None = field(default=None, metadata=opt("manifest.json for an artifact that carries none."))
    show: bool = field(default=False, metadata=opt("Show frames with label and FPS in a window (needs a display).",
                                                   "--show"))
    save: Path | None = field(default=None, metadata=opt("Write annotated video/camera frames to this .mp4."))
    max_frames: int | None = field(default=None, metadata=opt("Stop a video/camera after N frames."))
    stride: int = field(default=1, metadata=opt("Video files: classify every N-th frame."))
    realtime: bool | None = field(default=None, metadata=opt(
        "Video files: play at the file's own frame rate (default: on with --serve, else as fast as it classifies).",
        "--realtime/--no-realtime"))
    loop: bool = field(default=False, metadata=opt("Video files: start again at the end (until Ctrl-C or --max-frames).",
                                                   "--loop"))
    allow_failures: bool = field(default=False, metadata=opt(
        "Exit 0 even when some files could not be classified (they are still listed).", "--allow-failures"))
    summary_json: Path | None = field(default=None, metadata=opt("Also write the summary here as JSON."))
    list_cameras: bool = field(default=False, metadata=opt("List cameras OpenCV can open, then exit.",
                                                           "--list-cameras"))
    unknown: bool = field(default=True, metadata=opt(
        "Answer 'unknown' for none of the classes (models exported with an unknown score).", "--unknown/--no-unknown"))
    keep: float | None = field(default=None, metadata=opt(
        "Share of in-class photos to keep when deciding 'unknown' (default: the manifest's, 0.95)."))
    # --collect: keep what the model is unsure of for the next training (edge.runtime.collect)
    collect: Path | None = field(default=None, metadata=opt(
        "Save photos/frames answered 'unknown' or below --collect-below here, as DIR/<label>/<time>.jpg + .json."))
    collect_below: float | None = field(default=None, metadata=opt(
        "Collect when the top-1 probability is below this (default: the run's estimated accuracy, 0.5-0.95)."))
    collect_rate: float = field(default=10.0, metadata=opt("Collect at most this many per minute."))
    collect_max_mb: float = field(default=500.0, metadata=opt("Stop collecting once DIR holds this many MB."))
    # --serve: a live page, an HTTP API, metrics and label events (edge.serve; extra edge-classifier[serve])
    serve: str | None = field(default=None, metadata=opt(
        "Serve a live page and an HTTP API on [HOST:]PORT (8080 = 127.0.0.1:8080; 0.0.0.0:8080 needs --token). "
        "SOURCE is optional: without it only the API runs.", metavar="[HOST:]PORT"))
    token: str | None = field(default=None, metadata=opt(
        "--serve: the secret clients send ('Authorization: Bearer SECRET' or ?token=SECRET).", envvar="EDGE_TOKEN"))
    no_auth: bool = field(default=False, metadata=opt("--serve on a network address without a token.", "--no-auth"))
    max_body_mb: float = field(default=20.0, metadata=opt("--serve: largest request body in MB (larger: 413)."))
    on_change: str | None = field(default=None, metadata=opt(
        "POST a JSON event to this URL when the live label changes (debounced by --hold).", metavar="URL"))
    hold: int = field(default=5, metadata=opt("--on-change, --mqtt: frames in a row the new label must hold."))
    min_confidence: float = field(default=0.5, metadata=opt("--on-change, --mqtt: top-1 probability those frames need."))
    # --mqtt: the live label as MQTT topics and Home Assistant entities (edge.actions; extra edge-classifier[mqtt])
    mqtt: str | None = field(default=None, metadata=opt(
        "Publish the live label to an MQTT broker, with Home Assistant discovery: "
        "mqtt://HOST or mqtt://USER:PASS@HOST:PORT/PREFIX, mqtts:// for TLS (topics under PREFIX/NAME/; "
        "PREFIX default edge).",
        metavar="URL"))
    mqtt_password: str | None = field(default=None, metadata=opt(
        "--mqtt: the broker password, for a URL that names only the user.", envvar="EDGE_MQTT_PASSWORD"))
    mqtt_ca: Path | None = field(default=None, metadata=opt("--mqtt mqtts://: the CA certificate (PEM) of the broker."))
    mqtt_name: str | None = field(default=None, metadata=opt(
        "--mqtt: this device's name in topics and Home Assistant (default: the hostname)."))
    mqtt_binary: list[str] | None = field(default=None, metadata=opt(
        "--mqtt: a Home Assistant binary_sensor that is on while LABEL holds (repeatable).", metavar="LABEL"))
    # --gpio, --record: more actions on the debounced state (edge.actions.gpio_action, edge.actions.clip_action)
    gpio: list[str] | None = field(default=None, metadata=opt(
        "Drive a GPIO pin high while LABEL (a class, or unknown) is the state, low otherwise: 17=person "
        "(BCM pin number; repeatable; needs gpiozero, the gpio extra).", metavar="PIN=LABEL"))
    record: Path | None = field(default=None, metadata=opt(
        "Save an annotated MP4 clip (+ a JSON sidecar) around each state change into DIR.", metavar="DIR"))
    record_on: str = field(default="change", metadata=opt(
        "--record: the state becoming LABEL (or unknown), or any change of state (change).", metavar="LABEL|unknown|change"))
    pre: float = field(default=3.0, metadata=opt("--record: seconds of video kept from before the change.",
                                                 metavar="SECONDS"))
    post: float = field(default=5.0, metadata=opt("--record: seconds recorded after the change.", metavar="SECONDS"))
    record_max_mb: float = field(default=500.0, metadata=opt(
        "--record: delete the oldest clips edge wrote once DIR holds more (files edge did not write are never touched)."))
    # --update-from: new model versions without a restart, checked, self-tested and rolled back by edge (edge.runtime.updates)
    update_from: str | None = field(default=None, metadata=opt(
        "Take new versions of the model from this export folder or its http(s):// URL (asked with ETag; every file's "
        "SHA-256 checked; self-tested on recent frames; swapped between two frames; rolled back if it fails in its "
        "first minute).", metavar="PATH|URL"))
    update_every: float = field(default=600.0, metadata=opt(
        "--update-from: seconds between checks (0: at start, and when POST /v1/model or MQTT <prefix>/<name>/model/set "
        "asks).", metavar="SECONDS"))
    keep_versions: int = field(default=2, metadata=opt(
        "--update-from: model versions kept on disk (the running and the previous one always are)."))
    state_dir: Path | None = field(default=None, metadata=opt(
        "--update-from: where versions are kept (default: edge/<export name>-<hash of its path> under "
        "$STATE_DIRECTORY, $XDG_STATE_HOME or ~/.local/state).", metavar="DIR"))
    allow_new_labels: bool = field(default=False, metadata=opt(
        "--update-from: accept a version whose labels differ from the running model's.", "--allow-new-labels"))

    def __post_init__(self) -> None:
        if self.source is None and self.sources and not self.several:
            object.__setattr__(self, "source", self.sources[0])

    @property
    def several(self) -> bool:
        """Several SOURCEs, or a named one: they run in one process (edge.runtime.multi_source)."""
        return self.source is None and is_several(self.sources)

    def check(self) -> InferOptions:
        """Refuse what cannot work before any model loads (a one-line error, not a silent no-op)."""
        if self.artifact is None or (self.source is None and not self.sources and self.serve is None):
            raise EdgeError("usage: edge-infer ARTIFACT SOURCE (see edge-infer --help)")
        for name in ("top_k", "batch_size", "workers", "stride"):
            if getattr(self, name) < 1:
                raise EdgeError(f"--{name.replace('_', '-')} {getattr(self, name)}: pass 1 or more")
        if self.threads is not None and self.threads < 1:
            raise EdgeError(f"--threads {self.threads}: pass 1 or more, or leave it out to use every core")
        for name in OPTION_NEEDS:  # a missing library fails now, in one line, not after tuning and loading
            if getattr(self, name) is not None:
                require_installed(name)
        if self.gpio and importlib.util.find_spec("gpiozero") is None:
            raise EdgeError(GPIO_MISSING)
        if self.record is not None and not (self.pre >= 0 and self.post > 0 and self.record_max_mb > 0):
            raise EdgeError(f"--pre {self.pre:g} --post {self.post:g} --record-max-mb {self.record_max_mb:g}: "
                            "pass --pre 0 or more, --post and --record-max-mb above 0")
        check_updates(self)
        return self

    @property
    def watches_state(self) -> bool:
        """Options that act on the debounced live label: the event core (edge.actions) runs for them."""
        return any(value is not None for value in (self.on_change, self.mqtt, self.gpio, self.record))


def check_updates(opts: InferOptions) -> None:
    if opts.update_from is None and (opts.allow_new_labels or opts.state_dir is not None):
        raise EdgeError("--allow-new-labels and --state-dir go with --update-from PATH|URL; add it, or drop them")
    if not (opts.update_every >= 0 and opts.keep_versions >= 1):
        raise EdgeError(f"--update-every {opts.update_every:g} --keep-versions {opts.keep_versions}: pass 0 or more "
                        "seconds, and 1 or more versions")


def require_installed(option: str) -> None:
    """EdgeError naming what OPTION_NEEDS[option] lacks here and the pip line that brings it."""
    flag, extra, modules = OPTION_NEEDS[option]
    missing = [dist for module, dist in modules.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise EdgeError(f"{flag} needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
                        f"not installed: pip install 'edge-classifier[{extra}]' "
                        "(on a Raspberry Pi: 'edge-classifier[pi]', which has them all)")
