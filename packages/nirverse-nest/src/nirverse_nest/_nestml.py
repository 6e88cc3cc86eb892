r"""The emulation tier: the semantics' neuron update as a NESTML model, compiled once into a NEST module.

NEST's built-in models cannot reset by subtraction and integrate ``iaf_psc_exp``'s membrane with the
previous step's current (so a recurrent CubaLIF has no exact schedule). For those graphs the plugin
runs every neuron node as ``nirverse_neuron``, the model below, in which each NEST step does exactly
the semantics' step with the summed spike weights :math:`x` that arrive in that step:

.. math::

    i \leftarrow i + \kappa_{syn}(w_{in} x - i)\ \text{(Cuba)},\quad
    u = v + \kappa(v_{leak} - v + r\,d)\ \text{or}\ v + \Delta t\, r\, d,\quad
    z = [u > v_{th}],\quad v \leftarrow \text{reset}(u, z)

with :math:`d` = :math:`i` (Cuba) or :math:`x`. A Threshold whose only input is a continuous neuron
(I, LI, CubaLI), elementwise, is computed inside that neuron (``fused``): it fires when :math:`v_t > \theta`,
or :math:`v_{t-1} > \theta` (``prev``, 0 before step 0) across a delayed edge. NESTML 9 scales a spike port by
``(0.001 * sum) * 1000.`` (its unit conversion), which can move :math:`x` by one unit in the last place.

Building: ``pynestml`` generates C++ and compiles it with cmake against the headers of the installed
NEST. The PyPI wheel's ``nest-config`` reports its build machine's paths and libraries, and its kernel
is linked into ``nestkernel_api.so`` with the pre-C++11 string ABI; the plugin therefore writes its own
``nest-config`` (the wheel's headers, no libraries, ``-D_GLIBCXX_USE_CXX11_ABI=0`` when the kernel uses
the old ABI) and makes the kernel's symbols global before ``nest.Install``. The compiled module is
cached in ``$NIRVERSE_NEST_CACHE`` (default ``~/.cache/nirverse-nest``) under a hash of the model and
the NEST version. Needs cmake, a C++20 compiler, and the Boost and libltdl headers.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import os
import shutil
import stat
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["MODEL", "MODEL_SOURCE", "nestml_reason", "install_module", "CONSTRUCT"]

MODEL = "nirverse_neuron"
#: the extension mechanism that hosts the plugin's update code (the level's construct)
CONSTRUCT = "pynestml.frontend.pynestml_frontend.generate_nest_target"
MODULE = "nirversemodule"
BUILD_TIME_LIMIT = 900

MODEL_SOURCE = """\
model nirverse_neuron:
    state:
        v real = 0
        i real = 0
        x real = 0
        prev real = 0

    parameters:
        kappa real = 1
        leaky real = 1
        v_leak real = 0
        r real = 1
        cuba real = 0
        kappa_syn real = 1
        w_in real = 1
        v_th real = 0
        v_reset real = 0
        subtract real = 0
        spiking real = 1
        fused real = 0
        fused_theta real = 0
        fused_delay real = 0

    input:
        spikes_in <- spike

    output:
        spike

    update:
        x = spikes_in * 1 s
        drive real = x
        u real = 0
        if cuba > 0.5:
            i = i + kappa_syn * (w_in * x - i)
            drive = i
        if leaky > 0.5:
            u = v + kappa * (v_leak - v + r * drive)
        else:
            u = v + kappa * r * drive
        if spiking > 0.5 and u > v_th:
            if subtract > 0.5:
                v = u - v_th
            else:
                v = v_reset
            emit_spike()
        else:
            v = u
        if fused > 0.5:
            if fused_delay > 0.5:
                if prev > fused_theta:
                    emit_spike()
            elif v > fused_theta:
                emit_spike()
            prev = v
"""


def _cache_dir() -> Path:
    from importlib.metadata import version

    root = Path(os.environ.get("NIRVERSE_NEST_CACHE", Path.home() / ".cache" / "nirverse-nest"))
    key = hashlib.sha256((MODEL_SOURCE + version("nest-simulator") + version("nestml")).encode()).hexdigest()[:16]
    return root / key


def _nest_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("nest")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent


def _kernel() -> Path:
    return next(_nest_dir().glob("nestkernel_api*.so"))


def _old_abi() -> bool:
    """Whether NEST's kernel uses the pre-C++11 std::string ABI (mangled ``Ss``)."""
    return b"get_synaptic_elementsESs" in _kernel().read_bytes()


def _write_nest_config(root: Path) -> Path:
    """A ``nest-config`` that points at the installed wheel's headers (see the module docstring)."""
    nest = _nest_dir()
    abi = " -D_GLIBCXX_USE_CXX11_ABI=0" if _old_abi() else ""
    answers = {
        "--prefix": str(nest), "--exec-prefix": str(nest), "--libs": "", "--includes": f"-I{nest / 'include' / 'nest'}",
        "--cflags": f"-fopenmp -O2 -std=c++20{abi}", "--compiler": shutil.which("c++") or "c++",
        "--compiler-name": "GNU", "--version": _version(), "--python-executable": sys.executable,
        "--static-libraries": "OFF", "--libdir": "lib", "--datadir": "share/nest", "--docdir": "share/doc/nest",
    }
    cases = "".join(f'    {k}) echo "{v}" ;;\n' for k, v in answers.items())
    script = root / "bin" / "nest-config"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(f'#!/bin/sh\nfor a in "$@"; do\n  case "$a" in\n{cases}  esac\ndone\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return root


def _version() -> str:
    from importlib.metadata import version

    return version("nest-simulator")


_BUILD = """
import sys
from pynestml.frontend.pynestml_frontend import generate_nest_target
generate_nest_target(input_path=sys.argv[1], target_path=sys.argv[2], install_path=sys.argv[3], module_name=sys.argv[4],
                     logging_level="ERROR", codegen_opts={"nest_path": sys.argv[5]})
"""


def _build(cache: Path) -> Path:
    """Generate and compile the module in a child process (about a minute); return the .so path."""
    work = cache / "build"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / f"{MODEL}.nestml").write_text(MODEL_SOURCE)
    fake = _write_nest_config(work / "nest")
    env = dict(os.environ, PYNEST_QUIET="1")
    args = [sys.executable, "-c", _BUILD, str(work / f"{MODEL}.nestml"), str(work / "target"), str(cache / "install"),
            MODULE, str(fake)]
    done = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=BUILD_TIME_LIMIT)
    module = cache / "install" / f"{MODULE}.so"
    if done.returncode != 0 or not module.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError("building the NESTML module failed: " + " | ".join(tail))
    return module


@cache
def _module() -> Path | str:
    """The compiled module (built once, cached on disk), or the reason it cannot be built."""
    import importlib.util

    if importlib.util.find_spec("pynestml") is None:
        return "NESTML is not installed (pip install 'nirverse-nest[nestml]')"
    for tool in ("cmake", "c++", "make"):
        if shutil.which(tool) is None:
            return f"building the NESTML module needs {tool}, which is not on PATH"
    cache_dir = _cache_dir()
    module = cache_dir / "install" / f"{MODULE}.so"
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time; the others then find the module
        if module.exists():
            return module
        try:
            return _build(cache_dir)
        except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
            return f"{exc} (needs cmake, a C++20 compiler, and the Boost and libltdl development headers)"


def nestml_reason() -> str | None:
    """``None`` when the NESTML module is (or can be) built, else why not. May build it (once)."""
    found = _module()
    return None if isinstance(found, Path) else found


def nestml_installed() -> bool:
    """Whether NESTML is importable (cheap; no build, no NEST import): the plan-level choice uses it."""
    import importlib.util

    return importlib.util.find_spec("pynestml") is not None


def install_module(nest: Any) -> None:
    """Load the module into NEST's kernel (the kernel's symbols made global first)."""
    if MODEL in nest.node_models:
        return
    found = _module()
    if not isinstance(found, Path):
        from nirverse.errors import BackendUnavailableError

        raise BackendUnavailableError(found, field="nestml", expected="a buildable NESTML module")
    ctypes.CDLL(str(_kernel()), mode=os.RTLD_NOW | os.RTLD_GLOBAL | getattr(os, "RTLD_NOLOAD", 4))
    nest.Install(str(found))
