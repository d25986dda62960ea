"""--gpio PIN=LABEL on gpiozero's own mock pins: the levels over a scripted run of states, low at close,
and one-line errors for a wrong spec, a wrong label, a pin that cannot be driven and gpiozero missing."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from edge.actions.events import Events
from edge.actions.gpio_action import GpioAction, parse_gpio
from edge.errors import EdgeError
from edge.runtime.classifier import Prediction
from edge.runtime.options import InferOptions

gpiozero = pytest.importorskip("gpiozero", reason="the gpio extra is not installed: pip install 'edge-classifier[gpio]'")
from gpiozero.pins.mock import MockFactory  # noqa: E402

LABELS = ("daisy", "roses", "tulips")


@pytest.fixture
def mock_pins():
    previous = gpiozero.Device.pin_factory
    gpiozero.Device.pin_factory = MockFactory()
    yield gpiozero.Device.pin_factory
    gpiozero.Device.pin_factory.reset()
    gpiozero.Device.pin_factory = previous


def levels(factory, pins=(17, 27, 22)) -> dict[int, bool]:
    return {pin: bool(factory.pin(pin).state) for pin in pins}


def wait_for_levels(factory, want: dict[int, bool]) -> dict[int, bool]:
    deadline = time.monotonic() + 5
    while levels(factory) != want and time.monotonic() < deadline:
        time.sleep(0.01)
    return levels(factory)


def test_each_pin_is_high_exactly_while_its_state_holds_and_low_after_close(mock_pins):
    events = Events(hold=2, min_confidence=0.5)
    events.add(GpioAction(parse_gpio(["17=roses", "GPIO27=unknown", "22=roses"], LABELS)))
    assert levels(mock_pins) == {17: False, 27: False, 22: False}  # low from the start
    script = [("daisy", False, {17: False, 27: False, 22: False}), ("roses", False, {17: True, 27: False, 22: True}),
              ("tulips", False, {17: False, 27: False, 22: False}), ("roses", True, {17: False, 27: True, 22: False}),
              ("roses", False, {17: True, 27: False, 22: True})]
    for label, unknown, want in script:
        for _ in range(2):  # --hold 2
            events.observe("camera:0", Prediction("camera:0", [(label, 0.9)], 1, {}, unknown, 0.1))
        assert wait_for_levels(mock_pins, want) == want, label
    events.observe("camera:0", Prediction("camera:0", [("tulips", 0.3)], 1))  # unsure: the state stays
    time.sleep(0.05)
    assert levels(mock_pins) == {17: True, 27: False, 22: True}
    events.close()
    assert levels(mock_pins) == {17: False, 27: False, 22: False}  # released low


def test_with_two_sources_a_pin_is_high_while_either_is_in_its_state(mock_pins):
    events = Events(hold=1, min_confidence=0.0)
    events.add(GpioAction(parse_gpio(["17=roses"], LABELS)))
    for source, label, want in [("camera:0", "roses", True), ("picam", "roses", True), ("camera:0", "daisy", True),
                                ("picam", "daisy", False)]:
        events.observe(source, Prediction(source, [(label, 0.9)], 1))
        assert wait_for_levels(mock_pins, {17: want, 27: False, 22: False})[17] is want
    events.close()


@pytest.mark.parametrize(("specs", "message"), [
    (["17"], "--gpio 17: write PIN=LABEL, e.g. --gpio 17=daisy"),
    (["=roses"], "write PIN=LABEL"),
    (["17=lilies"], "'lilies' is not a label of this model; choose from daisy, roses, tulips, unknown"),
    (["17=roses", "17=daisy"], "pin 17 is given twice"),
])
def test_a_wrong_spec_is_one_line_naming_the_labels(specs, message):
    with pytest.raises(EdgeError, match=message) as info:
        parse_gpio(specs, LABELS)
    assert "\n" not in str(info.value)


def test_a_pin_that_cannot_be_driven_is_one_line(mock_pins):
    with pytest.raises(EdgeError, match=r"--gpio nonsense=roses: cannot drive this pin \(nonsense is not a valid pin") as info:
        GpioAction({17: "daisy", "nonsense": "roses"})
    assert "\n" not in str(info.value)
    assert levels(mock_pins)[17] is False


def test_without_gpiozero_the_error_names_the_extra_and_the_apt_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "gpiozero", None)  # `import gpiozero` now raises ImportError
    with pytest.raises(EdgeError, match=r"pip install 'edge-classifier\[gpio\]' \(on Raspberry Pi OS: sudo apt install "
                                        r"python3-gpiozero"):
        GpioAction({17: "roses"})
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gpiozero" else real(name, *a))
    with pytest.raises(EdgeError, match=r"--gpio needs gpiozero"):  # before any model loads
        InferOptions(artifact=Path("model.onnx"), source="0", gpio=["17=roses"]).check()
