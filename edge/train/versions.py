"""The library versions a run records in its manifest (`created_by`) and its feature cache keys on."""

from __future__ import annotations


def library_versions() -> dict[str, str]:
    import platform

    import torch
    import torchvision

    from edge import __version__

    versions = {"edge": __version__, "python": platform.python_version(), "torch": str(torch.__version__),
                "torchvision": str(torchvision.__version__)}
    try:
        import timm

        versions["timm"] = str(timm.__version__)
    except ImportError:
        pass
    return versions
