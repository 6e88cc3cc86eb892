"""GeNN's own NIR bridge: GeNN 5 and mlGeNN ship none, so there is nothing to measure.

This test fails the day pygenn grows a NIR importer/exporter, so that a measuring test replaces it.
"""

from __future__ import annotations

import pkgutil

import pytest

pygenn = pytest.importorskip("pygenn", reason="pygenn (GeNN) is not installed", exc_type=ImportError)


def test_pygenn_has_no_nir_bridge():
    names = {m.name for m in pkgutil.walk_packages(pygenn.__path__, "pygenn.")} | set(dir(pygenn))
    assert not [n for n in names if "nir" in n.lower().replace("_", "")], sorted(names)
