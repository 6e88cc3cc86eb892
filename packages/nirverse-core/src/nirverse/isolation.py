"""Run calls in a child process, so that a crash, a hang or a runaway allocation becomes a verdict.

A backend with native code (GeNN, Brian2's compiled targets, NEST) can kill the interpreter; a hostile graph
can make any backend allocate until the kernel steps in. :class:`Isolated` keeps one child process (started
with ``spawn``: no inherited threads or locks of torch, jax or OpenMP) and runs calls in it one at a time.
Each call returns an :class:`Outcome`:

* ``ok`` — the call returned; ``value`` is its (picklable) result;
* ``raised`` — it raised; ``error`` is the exception where it pickles, ``error_type``/``message`` always;
* ``crashed`` — the child died (``signal`` names the signal, e.g. ``SIGSEGV``, or ``exitcode`` is set);
* ``timed_out`` — it ran past ``time_limit`` seconds and was killed;
* ``out_of_memory`` — its resident memory passed ``memory_limit`` bytes and it was killed.

After a crash, time-out or memory kill the child is replaced on the next call; state the child built up
(imported frameworks, compiled models) is lost, never the caller's results. The callable must be
importable by the child: a module-level function, named directly or as ``"package.module:function"``.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["Outcome", "Isolated", "call_isolated", "isolates", "backend_child", "run_backend", "OK", "RAISED", "CRASHED", "TIMED_OUT", "OUT_OF_MEMORY"]

OK = "ok"
RAISED = "raised"
CRASHED = "crashed"
TIMED_OUT = "timed_out"
OUT_OF_MEMORY = "out_of_memory"

#: default limits of one isolated call; override per call or with these environment variables
DEFAULT_TIME_LIMIT = float(os.environ.get("NIRVERSE_ISOLATION_TIME_LIMIT", 600))
DEFAULT_MEMORY_LIMIT = int(float(os.environ.get("NIRVERSE_ISOLATION_MEMORY_LIMIT", 8 * 2**30)))
_POLL = 0.05
#: set to "0" to run native-code backends in this process (debugging; a crash then ends it)
ISOLATE_ENV = "NIRVERSE_ISOLATE"


@dataclass
class Outcome:
    """What became of one isolated call (see the module docstring for ``status``)."""

    status: str
    value: Any = None
    error: BaseException | None = None
    error_type: str | None = None
    message: str | None = None
    traceback: str | None = None
    signal: str | None = None
    exitcode: int | None = None
    wall_time: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == OK

    def describe(self) -> str:
        """One line: what happened."""
        if self.status == OK:
            return "ok"
        if self.status == RAISED:
            return f"{self.error_type}: {self.message}"
        if self.status == CRASHED:
            how = f"signal {self.signal}" if self.signal else f"exit code {self.exitcode}"
            return f"the process crashed ({how})"
        if self.status == TIMED_OUT:
            return f"timed out after {self.wall_time:.1f} s"
        return f"killed at the memory limit after {self.wall_time:.1f} s"

    def unwrap(self) -> Any:
        """The value; re-raises a pickled exception; raises :class:`IsolationError` for anything else."""
        if self.status == OK:
            return self.value
        if self.status == RAISED and self.error is not None:
            raise self.error
        raise IsolationError(self)


class IsolationError(RuntimeError):
    """An isolated call did not return (crashed, timed out, killed for memory, or raised unpicklably)."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        super().__init__(outcome.describe())


def _resolve(target: Callable[..., Any] | str) -> Callable[..., Any]:
    if callable(target):
        return target
    module, _, name = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _serve(conn: Connection) -> None:
    """The child's loop: receive (target, args, kwargs), send back ("ok", value) or ("raised", ...)."""
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        if request is None:
            return
        target, args, kwargs = request
        try:
            value = _resolve(target)(*args, **kwargs)
            reply: tuple[Any, ...] = (OK, value)
        except BaseException as exc:  # noqa: BLE001 - every failure is reported to the parent
            reply = (RAISED, exc, f"{type(exc).__module__}.{type(exc).__qualname__}", str(exc), traceback.format_exc())
        try:
            conn.send(reply)
        except Exception as exc:  # an unpicklable value or exception
            if reply[0] == OK:
                conn.send((RAISED, None, "TypeError", f"the result cannot be sent back: {exc}", ""))
            else:
                conn.send((RAISED, None, reply[2], reply[3], reply[4]))


def _resident_bytes(pid: int) -> int:
    """Resident set size of ``pid`` from /proc (0 where /proc is not there)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class Isolated:
    """One child process running calls one at a time, replaced after a crash, time-out or memory kill.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, time_limit: float | None = None, memory_limit: int | None = None) -> None:
        self.time_limit = DEFAULT_TIME_LIMIT if time_limit is None else float(time_limit)
        self.memory_limit = DEFAULT_MEMORY_LIMIT if memory_limit is None else int(memory_limit)
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None

    def __enter__(self) -> Isolated:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child,), daemon=True, name="nirverse-isolated")
        self._process.start()
        child.close()
        self._conn = parent

    def _kill(self) -> None:
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join()
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None

    @property
    def alive(self) -> bool:
        """Whether the child is running (a call after a crash starts a fresh one)."""
        return self._process is not None and self._process.is_alive()

    def close(self) -> None:
        """Stop the child (politely, then by force)."""
        if self._process is not None and self._process.is_alive() and self._conn is not None:
            try:
                self._conn.send(None)
                self._process.join(timeout=5)
            except (OSError, BrokenPipeError):
                pass
        self._kill()

    def call(self, target: Callable[..., Any] | str, *args: Any, time_limit: float | None = None, **kwargs: Any) -> Outcome:
        """Run ``target(*args, **kwargs)`` in the child; never raises for what happens there."""
        if self._process is None or not self._process.is_alive():
            self._kill()
            self._start()
        assert self._process is not None and self._conn is not None
        limit = self.time_limit if time_limit is None else time_limit
        start = time.perf_counter()
        self._conn.send((target, args, kwargs))
        while True:
            elapsed = time.perf_counter() - start
            if self._conn.poll(_POLL):
                try:
                    reply = self._conn.recv()
                except (EOFError, OSError):
                    return self._died(start)
                if reply[0] == OK:
                    return Outcome(OK, value=reply[1], wall_time=elapsed)
                _, error, error_type, message, trace = reply
                return Outcome(RAISED, error=error, error_type=error_type, message=message, traceback=trace,
                               wall_time=elapsed)
            if not self._process.is_alive():
                return self._died(start)
            if elapsed > limit:
                self._kill()
                return Outcome(TIMED_OUT, wall_time=elapsed)
            if _resident_bytes(self._process.pid) > self.memory_limit:
                self._kill()
                return Outcome(OUT_OF_MEMORY, wall_time=elapsed)

    def _died(self, start: float) -> Outcome:
        assert self._process is not None
        self._process.join()
        code = self._process.exitcode
        name = None
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
        self._kill()
        return Outcome(CRASHED, signal=name, exitcode=code, wall_time=time.perf_counter() - start)


def call_isolated(target: Callable[..., Any] | str, *args: Any, time_limit: float | None = None,
                  memory_limit: int | None = None, **kwargs: Any) -> Outcome:
    """One call in a fresh child process (see :class:`Isolated`)."""
    with Isolated(time_limit, memory_limit) as child:
        return child.call(target, *args, **kwargs)


_CHILDREN: dict[str, Isolated] = {}


def isolates(backend: str) -> bool:
    """Whether calls of ``backend`` run in a child: it declares ``native_code`` and isolation is not off."""
    from .backends import get_backend

    return os.environ.get(ISOLATE_ENV, "1") != "0" and bool(get_backend(backend).native_code)


def backend_child(backend: str) -> Isolated:
    """The long-lived child of ``backend`` (one per backend and process, so compiled models are reused;
    closed at exit)."""
    if not _CHILDREN:
        import atexit

        atexit.register(_close_children)
    if backend not in _CHILDREN:
        _CHILDREN[backend] = Isolated()
    return _CHILDREN[backend]


def _close_children() -> None:
    for child in _CHILDREN.values():
        child.close()
    _CHILDREN.clear()


def run_backend(backend: str, target: Callable[..., Any] | str, /, *args: Any, **kwargs: Any) -> Outcome:
    """``target(*args, **kwargs)`` as an :class:`Outcome`: in ``backend``'s child where :func:`isolates`,
    else in this process (an exception becomes ``raised``)."""
    if isolates(backend):
        return backend_child(backend).call(target, *args, **kwargs)
    start = time.perf_counter()
    try:
        value = _resolve(target)(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the caller judges the outcome
        return Outcome(RAISED, error=exc, error_type=f"{type(exc).__module__}.{type(exc).__qualname__}",
                       message=str(exc), traceback=traceback.format_exc(), wall_time=time.perf_counter() - start)
    return Outcome(OK, value=value, wall_time=time.perf_counter() - start)
