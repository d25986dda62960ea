"""--gpio PIN=LABEL: a GPIO pin that is high while LABEL is the live state (a relay, a LED, a buzzer).

gpiozero drives the pins (`DigitalOutputDevice`); it is imported only when --gpio is given. The pins
change on this action's own thread (edge.actions.dispatch), never on the inference thread, and every
pin is set low before it is released when the run ends. With several sources, a pin is high while
any of them is in its state.
"""

from __future__ import annotations

import warnings

from edge.errors import EdgeError, short_reason
from edge.runtime.options import GPIO_MISSING

Pin = int | str  # a BCM number (17), or a name gpiozero knows ("GPIO17", "BOARD11")

NO_PINS_HINT = ("on Raspberry Pi OS: sudo apt install python3-lgpio and a venv made with --system-site-packages; "
                "without a Pi, GPIOZERO_PIN_FACTORY=mock tries it out")


def parse_gpio(specs: list[str], labels: tuple[str, ...]) -> dict[Pin, str]:
    """--gpio values -> {pin: label}; one line naming the mistake (syntax, label, a pin given twice)."""
    choices = (*labels, "unknown")
    pins: dict[Pin, str] = {}
    for spec in specs:
        pin, sep, label = (part.strip() for part in spec.partition("="))
        if not sep or not pin or not label:
            raise EdgeError(f"--gpio {spec}: write PIN=LABEL, e.g. --gpio 17={choices[0]} (17: the BCM number of the pin)")
        if label not in choices:
            raise EdgeError(f"--gpio {spec}: {label!r} is not a label of this model; choose from {', '.join(choices)}")
        key: Pin = int(pin) if pin.isdigit() else pin
        if key in pins:
            raise EdgeError(f"--gpio {spec}: pin {pin} is given twice; a pin follows one label")
        pins[key] = label
    return pins


def import_gpiozero():
    try:
        import gpiozero
    except ImportError:
        raise EdgeError(GPIO_MISSING) from None
    return gpiozero


class GpioAction:
    """Each pin low at start, high while its label is the state, low again at close."""

    name = "gpio"

    def __init__(self, pins: dict[Pin, str]):
        gpiozero = import_gpiozero()
        self.outputs: list[tuple[str, object]] = []  # (label, DigitalOutputDevice)
        self.states: dict[str, str] = {}  # source -> its state
        for pin, label in pins.items():
            try:
                with warnings.catch_warnings():  # one "falling back from lgpio" warning per missing library
                    warnings.simplefilter("ignore", gpiozero.PinFactoryFallback)
                    device = gpiozero.DigitalOutputDevice(pin, initial_value=False)
            except Exception as exc:  # noqa: BLE001 - gpiozero's many errors (no pin library, bad pin, busy) as one line
                self.close()
                raise EdgeError(f"--gpio {pin}={label}: cannot drive this pin ({short_reason(exc)}); "
                                f"{NO_PINS_HINT}") from None
            self.outputs.append((label, device))

    def handle(self, change) -> None:
        self.states[change.source] = change.label
        held = set(self.states.values())
        for label, device in self.outputs:
            device.value = label in held

    def close(self) -> None:
        """Low first, then released: a relay never stays on after the run (gpiozero's close keeps the level)."""
        outputs, self.outputs, failed = self.outputs, [], None
        for _label, device in outputs:
            try:
                device.off()
                device.close()
            except Exception as exc:  # noqa: BLE001 - the other pins are still set low and released
                failed = failed or exc
        if failed is not None:
            raise failed


def start_gpio(opts, clf, events) -> GpioAction:
    """--gpio for `opts` (InferOptions): pins checked and opened now, then switched on the action's thread."""
    action = GpioAction(parse_gpio(opts.gpio, tuple(clf.manifest.labels)))
    events.add(action)
    return action
