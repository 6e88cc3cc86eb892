"""The backend protocol and the registry of backends (entry-point group ``nirverse.backends``).

A plugin subclasses :class:`Backend` and registers the class::

    [project.entry-points."nirverse.backends"]
    norse = "nirverse_norse._backend:NorseBackend"

Discovery reads entry-point *metadata* only; a backend class is loaded when it is asked for, and the
plugin imports its framework only inside :meth:`Backend.build` / :meth:`Backend.run` /
:meth:`Backend.check`. So ``import nirverse`` and ``nirverse.available_backends()`` never import a
framework at module level (checking availability does import it, once, when asked).

``NIRVERSE_EXTRA_BACKENDS="name=package.module:Class,..."`` registers backends that no installed
distribution declares (test doubles, a plugin under development); child processes inherit it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

import numpy as np

from .errors import BackendUnavailableError, UnsupportedNodeError, UnsupportedSemanticsError
from .graph import Plan, prepare
from .levels import NATIVE, NodeLevel
from .semantics import LATENCIES, METHODS, RESETS, Semantics
from .validation import NODE_TYPES

__all__ = [
    "Backend", "BackendInfo", "RunOutput", "available_backends", "backend_info", "get_backend", "backend_names",
    "lazy_attributes", "make_from_nir",
]

ENTRY_POINT_GROUP = "nirverse.backends"
#: environment variable naming extra backends as ``name=package.module:Class`` pairs, comma-separated
EXTRA_BACKENDS_ENV = "NIRVERSE_EXTRA_BACKENDS"


@dataclass
class RunOutput:
    """What :meth:`Backend.run` returns: numpy arrays shaped (batch, time, *shape)."""

    outputs: dict[str, np.ndarray]
    states: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


@dataclass(frozen=True)
class BackendInfo:
    name: str
    framework: str
    version: str | None
    available: bool
    reason: str | None
    install_hint: str
    node_types: frozenset[str]
    methods: frozenset[str]
    resets: frozenset[str]
    latencies: frozenset[str]
    dtypes: frozenset[str]
    exports: bool


class Backend:
    """Protocol every simulator backend implements.

    Class attributes declare what the backend can do; :meth:`check_support` refuses the rest before
    anything is built. ``build`` turns a :class:`~nirverse.graph.Plan` into the framework's native
    model, ``run`` executes it. ``to_nir`` (optional) exports a native model.
    """

    name: ClassVar[str]
    #: PyPI distribution (and import name) of the framework
    framework: ClassVar[str]
    module: ClassVar[str]
    install_hint: ClassVar[str]
    node_types: ClassVar[frozenset[str]] = NODE_TYPES
    methods: ClassVar[frozenset[str]] = frozenset(METHODS)
    resets: ClassVar[frozenset[str]] = frozenset(RESETS)
    latencies: ClassVar[frozenset[str]] = frozenset(LATENCIES)
    dtypes: ClassVar[frozenset[str]] = frozenset({"float64", "float32"})
    exports: ClassVar[bool] = False
    #: True when the backend runs compiled code in this process that can crash it (a segfault, an abort):
    #: ``nirverse compare`` / ``conformance`` and the conformance kit then run it in a child process
    native_code: ClassVar[bool] = False
    #: the framework's own neuron models (dotted names) that no emulated node may depend on: the kit's
    #: mutation test perturbs them, with every native/adapted neuron construct, around emulated nodes
    framework_models: ClassVar[tuple[str, ...]] = ()

    # -- availability -------------------------------------------------------------------------
    def version(self) -> str | None:
        try:
            return importlib.metadata.version(self.framework)
        except importlib.metadata.PackageNotFoundError:
            return None

    def check(self) -> str | None:
        """``None`` when the framework imports, else the reason. Imports the framework (once)."""
        if importlib.util.find_spec(self.module) is None:
            return f"{self.module} is not installed"
        try:
            importlib.import_module(self.module)
        except Exception as exc:  # a framework that is installed but broken
            return f"importing {self.module} failed: {type(exc).__name__}: {exc}"
        return None

    def require(self) -> None:
        """Raise :class:`BackendUnavailableError` (with the install hint) unless the framework imports."""
        reason = self.check()
        if reason is not None:
            raise BackendUnavailableError(
                f"backend {self.name!r} is unavailable: {reason}", field="backend", expected=self.install_hint
            )

    def info(self) -> BackendInfo:
        reason = _cached_check(type(self))
        return BackendInfo(
            name=self.name, framework=self.framework, version=self.version(), available=reason is None,
            reason=reason, install_hint=self.install_hint, node_types=frozenset(self.node_types),
            methods=frozenset(self.methods), resets=frozenset(self.resets), latencies=frozenset(self.latencies),
            dtypes=frozenset(self.dtypes), exports=self.exports,
        )

    # -- support -----------------------------------------------------------------------------
    def check_support(self, plan: Plan, semantics: Semantics, dtype: str) -> None:
        """Raise Unsupported*Error for what this backend cannot execute identically."""
        for knob, allowed in (("method", self.methods), ("reset", self.resets), ("latency", self.latencies)):
            value = getattr(semantics, knob)
            if value not in allowed:
                raise UnsupportedSemanticsError(
                    f"backend {self.name!r} cannot execute {knob}={value!r}", field=knob,
                    expected="one of " + ", ".join(sorted(map(repr, allowed))),
                )
        if dtype not in self.dtypes:
            raise UnsupportedSemanticsError(
                f"backend {self.name!r} cannot run in {dtype}", field="dtype",
                expected="one of " + ", ".join(sorted(self.dtypes)),
            )
        for name in plan.order:
            kind = plan.types[name]
            if kind not in ("Input", "Output", "Pass") and kind not in self.node_types:
                raise UnsupportedNodeError(
                    f"backend {self.name!r} has no {kind} node", node=name, field="type",
                    expected="one of " + ", ".join(sorted(self.node_types)),
                )

    # -- execution ---------------------------------------------------------------------------
    def build(self, plan: Plan, dtype: str) -> Any:
        """The native model for ``plan`` (under ``plan.semantics``), in ``dtype``."""
        raise NotImplementedError

    def run(self, model: Any, inputs: Mapping[str, np.ndarray], record: bool) -> RunOutput:
        """Run ``model`` on {Input name: (batch, time, *shape) float64 array}."""
        raise NotImplementedError

    def to_nir(self, model: Any, semantics: Semantics) -> Any:
        raise UnsupportedNodeError(f"backend {self.name!r} does not export to NIR", field="to_nir")

    # -- truth in labels ---------------------------------------------------------------------
    def node_level(self, plan: Plan, name: str, dtype: str) -> NodeLevel:
        """How node ``name`` of ``plan`` runs here (see :mod:`nirverse.levels`), without importing the
        framework; raise ``UnsupportedNodeError`` for a node this backend refuses."""
        raise NotImplementedError(f"backend {self.name!r} does not label its nodes")

    def perturb(self, construct: str) -> AbstractContextManager[None]:
        """A context in which ``construct`` (a name this backend's :meth:`node_level` gives) computes
        slightly wrong results: the conformance kit's mutation check of the labels."""
        from ._perturbation import perturbed

        return perturbed(construct)


@cache
def _cached_check(cls: type) -> str | None:
    return cls().check()


class ReferenceBackend(Backend):
    """The float64 numpy reference simulator (always available)."""

    name = "reference"
    framework = "nirverse-core"
    module = "numpy"
    install_hint = "part of nirverse-core"

    def check(self) -> str | None:
        return None

    def build(self, plan: Plan, dtype: str) -> Any:
        return plan, dtype

    def run(self, model: Any, inputs: Mapping[str, np.ndarray], record: bool) -> RunOutput:
        from .reference import simulate

        plan, dtype = model
        outputs, states = simulate(plan, inputs, dtype=dtype, record=record)
        return RunOutput(outputs, states)

    def node_level(self, plan: Plan, name: str, dtype: str) -> NodeLevel:
        return NodeLevel(name, plan.types[name], NATIVE, "nirverse.reference.simulate",
                         "the reference is the semantics' literal definition")


def _entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    eps = {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    for item in filter(None, os.environ.get(EXTRA_BACKENDS_ENV, "").split(",")):
        name, sep, target = (part.strip() for part in item.partition("="))
        if not sep or not name or ":" not in target:
            raise BackendUnavailableError(
                f"{EXTRA_BACKENDS_ENV} has the entry {item!r}", field=EXTRA_BACKENDS_ENV,
                expected="comma-separated 'name=package.module:Class' entries",
            )
        eps[name] = importlib.metadata.EntryPoint(name, target, ENTRY_POINT_GROUP)
    return eps


def backend_names() -> list[str]:
    """Every registered backend name (from metadata; nothing is imported), reference first."""
    return ["reference"] + sorted(n for n in _entry_points() if n != "reference")


_INSTANCES: dict[str, Backend] = {}


def get_backend(name: str) -> Backend:
    """The backend object registered as ``name`` (its framework is not imported by this)."""
    if name in _INSTANCES:
        return _INSTANCES[name]
    if name == "reference":
        backend: Backend = ReferenceBackend()
    else:
        eps = _entry_points()
        if name not in eps:
            raise BackendUnavailableError(
                f"no backend {name!r} is registered", field="backend",
                expected="one of " + ", ".join(backend_names()) + f"; install a plugin: pip install 'nirverse[{name}]'",
            )
        try:
            cls = eps[name].load()
        except Exception as exc:
            raise BackendUnavailableError(
                f"the plugin of backend {name!r} ({_distribution(eps[name])}) failed to load: "
                f"{type(exc).__name__}: {exc}", field="backend"
            ) from exc
        verify_backend_class(cls, name, _distribution(eps[name]))
        backend = cls()
    _INSTANCES[name] = backend
    return backend


def backend_info(name: str) -> BackendInfo:
    """Framework version, supported node types and semantics, availability and install hint."""
    return get_backend(name).info()


def available_backends() -> list[str]:
    """The simulator backends that can run here: ``"reference"`` plus plugins whose framework imports."""
    names = []
    for name in backend_names():
        try:
            if backend_info(name).available:
                names.append(name)
        except BackendUnavailableError:
            continue
    return names


#: class attributes every backend declares itself (the rest have defaults on :class:`Backend`)
REQUIRED_ATTRIBUTES = ("name", "framework", "module", "install_hint")
#: methods every backend overrides (``to_nir`` only where ``exports``)
REQUIRED_METHODS = ("build", "run", "node_level")


def _distribution(ep: importlib.metadata.EntryPoint) -> str:
    """The distribution that declared ``ep`` (or the environment variable that registered it)."""
    dist = getattr(ep, "dist", None)
    return f"distribution {dist.name!r}" if dist is not None else f"registered through {EXTRA_BACKENDS_ENV}"


def verify_backend_class(cls: Any, name: str, origin: str) -> None:
    """Check what the registry loaded for ``name`` before anyone uses it, as pluggy checks hooks at
    registration: a :class:`Backend` subclass, the required class attributes set, ``cls.name == name``,
    ``build``/``run``/``node_level`` (and ``to_nir`` where it ``exports``) implemented. Raises
    :class:`BackendUnavailableError` naming ``origin`` (the distribution at fault)."""

    def refuse(problem: str, expected: str) -> BackendUnavailableError:
        return BackendUnavailableError(f"backend {name!r} from {origin} {problem}", field="backend",
                                       expected=expected)

    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise refuse(f"is {cls!r}, not a nirverse.Backend subclass", "a subclass of nirverse.backends.Backend")
    missing = [attr for attr in REQUIRED_ATTRIBUTES if not isinstance(getattr(cls, attr, None), str)]
    if missing:
        raise refuse("lacks the class attribute(s) " + ", ".join(missing), "str class attributes "
                     + ", ".join(REQUIRED_ATTRIBUTES))
    if cls.name != name:
        raise refuse(f"calls itself {cls.name!r}", f"name == {name!r}, the entry-point name")
    required = REQUIRED_METHODS + (("to_nir",) if cls.exports else ())
    unimplemented = [m for m in required if getattr(cls, m) is getattr(Backend, m)]
    if unimplemented:
        raise refuse("does not implement " + ", ".join(unimplemented), "overrides of " + ", ".join(required))


def make_from_nir(
    backend_cls: type[Backend], *, doc: str, options: Sequence[inspect.Parameter] = (),
    build: Callable[..., Any] | None = None, backend: Callable[..., Backend] | None = None,
) -> Callable[..., Any]:
    """A plugin's public ``from_nir(graph, semantics, dtype="float64", **framework_options)``.

    The generated function checks the framework imports (:class:`BackendUnavailableError` with the
    install hint), prepares the plan, refuses what the backend cannot execute identically
    (``check_support``) and returns ``build(backend, plan, dtype, **options)`` (default
    ``backend.build(plan, dtype)``). ``options`` are the plugin's extra parameters: keyword-only, except
    positional-or-keyword ones, which come before ``dtype``; ``backend(**options)`` makes the backend
    object where options configure it (default ``backend_cls()``).
    """
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    leading = [p for p in options if p.kind is kind]
    signature = inspect.Signature(
        [inspect.Parameter("graph", kind, annotation=Any), inspect.Parameter("semantics", kind, annotation=Any),
         *leading, inspect.Parameter("dtype", kind, default="float64", annotation=str),
         *(p for p in options if p.kind is not kind)],
        return_annotation=Any,
    )

    def from_nir(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        graph, semantics, dtype = values.pop("graph"), values.pop("semantics"), values.pop("dtype")
        instance = backend(**values) if backend is not None else backend_cls()
        instance.require()
        plan = prepare(graph, semantics)
        instance.check_support(plan, semantics, dtype)
        return build(instance, plan, dtype, **values) if build is not None else instance.build(plan, dtype)

    from_nir.__signature__ = signature  # type: ignore[attr-defined]
    from_nir.__doc__ = doc
    from_nir.__module__ = backend_cls.__module__.rpartition(".")[0] or backend_cls.__module__
    from_nir.__qualname__ = "from_nir"  # importable (and picklable) as <plugin package>.from_nir
    return from_nir


def lazy_attributes(package: str, table: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` (PEP 562) loading ``table[name]`` (a relative
    module such as ``"._model"``) on first access of ``name``, so that importing a plugin package
    never imports its framework. A loaded attribute is cached in the package's namespace."""
    def __getattr__(name: str) -> Any:
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(table[name], package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(table))

    return __getattr__, __dir__
