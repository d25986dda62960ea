"""A new model's self-test before it is swapped in: it runs on the last frames the device saw (kept by
edge.runtime.updates.swap), without an error, within 3x the running model's time, and how often it
agrees with the running model is told. Both models run each frame in turn on the update thread, so
their times are taken under the same load. Without frames (an API-only server, a source not started
yet) a few synthetic images stand in, and the agreement means little (the line says so).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from edge.errors import EdgeError

LATENCY_FACTOR = 3.0  # the new model may take at most this many times the running one's median ...
LATENCY_SLACK_MS = 1.0  # ... plus this: a 0.3 ms model's timings jitter by more than 3x on a busy CPU
WARMUP = 3  # untimed runs first: a new session's first runs are slow
MIN_TIMED = 8  # timed runs of each model at least (frames repeat when fewer were kept)
SYNTHETIC = 6  # images when no frames were seen


@dataclass(frozen=True)
class SelfTest:
    frames: int  # frames the new model answered
    from_device: bool  # real frames (False: synthetic images; the agreement then means little)
    agreement: float  # share of frames where both models gave the same label
    new_ms: float  # median inference time of the new model
    running_ms: float  # ... of the running model (from the live loop, or measured here)

    def line(self) -> str:
        what = f"{self.frames} frames the device saw" if self.from_device else f"{self.frames} synthetic images"
        return (f"self-test on {what}: agreement with the running model {self.agreement:.1%} "
                f"({round(self.agreement * self.frames)}/{self.frames}), {self.new_ms:.2f} ms vs {self.running_ms:.2f} ms")

    def to_dict(self) -> dict:
        return {"frames": self.frames, "from_device": self.from_device, "agreement": round(self.agreement, 4),
                "new_ms": round(self.new_ms, 3), "running_ms": round(self.running_ms, 3)}


def answer_label(answer) -> str:
    top, unknown, _score = answer
    return "unknown" if unknown else top[0][0]


def synthetic_samples(n: int = SYNTHETIC) -> list[np.ndarray]:
    """Noise images, for a device that has seen no frames yet (an API-only server)."""
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (240, 320, 3), dtype=np.uint8) for _ in range(n)]


def self_test(new, running, frames: list[np.ndarray]) -> SelfTest:
    """Run `new` and `running` on `frames`, in turn (so both meet the same load); EdgeError (one line) when
    the new model fails or takes over 3x the running one's median."""
    from_device = bool(frames)
    frames = frames or synthetic_samples()
    try:
        inputs = [(running.preprocess.frame(f)[None], new.preprocess.frame(f)[None]) for f in frames]  # as the loop does
        for i in range(WARMUP):  # however few frames were kept
            new.answers(inputs[i % len(inputs)][1], 1)
        agree, times = 0, {"new": [], "running": []}
        for i in range(max(len(inputs), MIN_TIMED)):  # one frame's timing alone is noise: time a few rounds
            old_x, new_x = inputs[i % len(inputs)]
            labels = {}
            for name, model, x in (("running", running, old_x), ("new", new, new_x)):
                start = time.perf_counter()
                labels[name] = answer_label(model.answers(x, 1)[0])
                times[name].append((time.perf_counter() - start) * 1000)
            agree += i < len(inputs) and labels["new"] == labels["running"]
    except Exception as exc:  # noqa: BLE001 - any failure of the new model is a refusal, in one line
        raise EdgeError(f"the new model failed its self-test ({type(exc).__name__}: {str(exc)[:160]})") from None
    result = SelfTest(len(frames), from_device, agree / len(frames), float(np.median(times["new"])),
                      float(np.median(times["running"])))
    if result.new_ms > LATENCY_FACTOR * result.running_ms + LATENCY_SLACK_MS:
        raise EdgeError(f"the new model takes {result.new_ms:.2f} ms a frame, over {LATENCY_FACTOR:g}x the running "
                        f"model's {result.running_ms:.2f} ms ({result.line()})")
    return result
