"""Where the IMX500 toolchain lives, and one line on how to get what is missing.

Sony's tools cannot share edge's venv: MCT pins matplotlib < 3.10 and networkx < 3.6, and the
converter pins onnx 1.17, onnxruntime 1.21 and an mct-quantizers (1.6) that MCT (1.7) refuses.
`make install-imx500` makes a tool folder beside the main venv (.venv-imx500, or EDGE_IMX500_VENV):
  quantize/  MCT and edge-mdt-tpc, seeing the main venv's torch and edge behind its own packages;
  convert/   imx500-converter[pt] (imxconv-pt), which runs its compiler on Java 17 or newer.
An MCT or an imxconv-pt installed elsewhere (this Python, or PATH) is used when the folder lacks it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from edge.errors import EdgeError

TOOL_VENV = ".venv-imx500"
INSTALL = "make install-imx500"
JAVA_MIN = 17
JAVA_HOW = "Java 17+ (Debian/Ubuntu: sudo apt install -y openjdk-17-jre-headless; or set JAVA_HOME)"


@dataclass(frozen=True)
class Toolchain:
    quantize_python: Path  # a Python that imports model_compression_toolkit, edgemdt_tpc, torch and edge
    converter: Path  # imxconv-pt
    java: Path  # Java 17+, which imxconv-pt's compiler runs on

    @property
    def env(self) -> dict[str, str]:
        """The converter's environment: this Java first on PATH."""
        return {**os.environ, "PATH": f"{self.java.parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def tool_venv() -> Path:
    """The tool folder: EDGE_IMX500_VENV, else .venv-imx500 beside this Python's venv."""
    return Path(os.environ.get("EDGE_IMX500_VENV") or Path(sys.prefix).parent / TOOL_VENV)


def _quantize_python() -> Path | None:
    python = tool_venv() / "quantize" / "bin" / "python"
    if python.is_file():
        return python
    here = all(find_spec(m) is not None for m in ("model_compression_toolkit", "edgemdt_tpc"))
    return Path(sys.executable) if here else None


def _converter() -> Path | None:
    tool = tool_venv() / "convert" / "bin" / "imxconv-pt"
    found = tool if tool.is_file() else shutil.which("imxconv-pt")
    return Path(found) if found else None


def java_version(java: Path) -> int | None:
    """The major version `java -version` reports (8 for "1.8.0"), or None when it does not run."""
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def _java() -> tuple[Path | None, str]:
    home = os.environ.get("JAVA_HOME")
    found = Path(home) / "bin" / "java" if home else (Path(p) if (p := shutil.which("java")) else None)
    if found is None or not found.is_file():
        return None, "no java found"
    version = java_version(found)
    if version is None or version < JAVA_MIN:
        return None, f"{found} is Java {version or '?'}"
    return found, ""


def missing(found: tuple | None = None) -> str | None:
    """What the toolchain lacks, as one clause with how to install it; None when all is there. `found`: the
    probes' results when already run (quantize python, converter, (java, why))."""
    quantize, converter, (java, why) = found or (_quantize_python(), _converter(), _java())
    parts = []
    if quantize is None:
        parts.append(f"MCT (model-compression-toolkit 2.6.1, edge-mdt-tpc 1.3.0) in {tool_venv()}/quantize")
    if converter is None:
        parts.append(f"imxconv-pt (imx500-converter[pt] 3.19.2) in {tool_venv()}/convert")
    needs = [f"{' and '.join(parts)}: {INSTALL}"] if parts else []
    needs += [] if java else [f"{JAVA_HOW} ({why})"]
    return f"imx500 export needs {'; and '.join(needs)}" if needs else None


def find() -> Toolchain:
    """The toolchain, or an EdgeError saying in one line what to install."""
    found = (_quantize_python(), _converter(), _java())  # each probe once: java -version is a subprocess
    problem = missing(found)
    if problem:
        raise EdgeError(problem)
    return Toolchain(found[0], found[1], found[2][0])
