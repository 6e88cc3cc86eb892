"""Shared setup of the brian2 plugin tests (each test module skips itself when brian2 is absent)."""

try:
    import brian2
except ImportError:  # pragma: no cover - the test modules skip with the install hint
    brian2 = None

if brian2 is not None:
    # Tests build Brian2 objects only to export or refuse them; Brian2 warns when such objects are collected.
    brian2.BrianLogger.suppress_name("unused_brian_object")
