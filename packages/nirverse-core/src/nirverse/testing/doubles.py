"""Test doubles for the crash isolation of ``nirverse compare``, ``nirverse conformance`` and the kit.

Register one for a process and its children with the environment variable of
:data:`nirverse.backends.EXTRA_BACKENDS_ENV`, e.g.
``NIRVERSE_EXTRA_BACKENDS="segfault=nirverse.testing.doubles:SegfaultBackend"``. They are never
registered otherwise.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..backends import ReferenceBackend, RunOutput

__all__ = ["ReferenceTwin", "SegfaultBackend"]


class SegfaultBackend(ReferenceBackend):
    """Declares native code, builds like the reference and, in ``run``, kills its own process with
    ``SIGSEGV`` — what a segmentation fault in a framework's compiled code does to the interpreter."""

    name = "segfault"
    framework = "nirverse-core"
    install_hint = "a test double of nirverse.testing.doubles"
    native_code = True

    def run(self, model: Any, inputs: Mapping[str, np.ndarray], record: bool) -> RunOutput:
        os.kill(os.getpid(), signal.SIGSEGV)
        raise AssertionError("unreachable: the process was killed")  # pragma: no cover


class ReferenceTwin(ReferenceBackend):
    """The reference registered a second time, as ``judge2`` (a backend without native code): registries
    verify that a backend's ``name`` is its entry-point name, so a twin needs its own class."""

    name = "judge2"
