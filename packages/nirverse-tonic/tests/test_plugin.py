"""nirverse-tonic is a data plugin: no backend, lazy imports, a stable public surface."""

import importlib.metadata
import subprocess
import sys

import nirverse
import nirverse_tonic


def test_not_a_backend():
    assert "tonic" not in nirverse.available_backends()
    groups = importlib.metadata.entry_points(group="nirverse.backends")
    assert not [ep for ep in groups if ep.value.startswith("nirverse_tonic")]


def test_public_names_resolve():
    for name in nirverse_tonic.__all__:
        assert getattr(nirverse_tonic, name) is not None
    assert set(nirverse_tonic.__all__) <= set(dir(nirverse_tonic))


def test_importing_does_not_import_tonic_or_faery():
    code = (
        "import sys, nirverse_tonic as nt; nt.ToGraphInput; nt.to_event_data; nt.batches; nt.read_events; "
        "print(sorted(m for m in ('tonic', 'faery', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
