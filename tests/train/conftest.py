"""Training tests keep their features in a tmp folder, never in the user's ~/.cache/edge/features."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_feature_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("EDGE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
