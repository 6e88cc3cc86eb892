"""The hostile cases: each builds one broken (or borderline) input in a temporary folder.

A case names what a correct nirverse does with it: raise a given typed error (``expect`` an error class
name from :mod:`nirverse.errors`) or run (``"runs"``: the result must equal the reference's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nir
import numpy as np

from ...semantics import Semantics
from ._graphs import SEM, chain, delay_loop, lif, linear_lif, nested, spikes

RUNS = "runs"


@dataclass
class Trial:
    """What one case hands to ``nirverse.run``."""

    graph: Any
    inputs: Any
    semantics: Any = SEM
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    expect: str
    make: Callable[[Path], Trial]


CASES: dict[str, Case] = {}


def case(category: str, expect: str, name: str | None = None):
    """Register ``make(tmp) -> Trial`` as a case."""

    def register(make: Callable[[Path], Trial]) -> Callable[[Path], Trial]:
        case_id = name or make.__name__
        CASES[case_id] = Case(case_id, category, expect, make)
        return make

    return register


def _write(tmp: Path, graph: nir.NIRGraph, name: str = "graph.nir") -> Path:
    path = tmp / name
    nir.write(path, graph)
    return path


def _on_file(tmp: Path, graph: nir.NIRGraph, inputs: Any = None) -> Trial:
    return Trial(_write(tmp, graph), spikes() if inputs is None else inputs)


def _edit(path: Path, edit: Callable[[Any], None]) -> Path:
    import h5py

    with h5py.File(path, "a") as f:
        edit(f)
    return path


# --- files: links, special files, named types, sizes ----------------------------------------------------


@case("file", "InvalidGraphError")
def external_link_to_fifo(tmp: Path) -> Trial:
    import os

    import h5py

    os.mkfifo(tmp / "fifo")
    path = _write(tmp, linear_lif())
    _edit(path, lambda f: f["node/nodes/lif"].__setitem__("extra", h5py.ExternalLink(str(tmp / "fifo"), "/x")))
    return Trial(path, spikes())


@case("file", "InvalidGraphError")
def external_link_to_other_graph(tmp: Path) -> Trial:
    import h5py

    other = _write(tmp, chain(("lif", lif())), "other.nir")
    path = _write(tmp, linear_lif())

    def swap(f):
        del f["node"]
        f["node"] = h5py.ExternalLink(str(other), "/node")

    return Trial(_edit(path, swap), spikes())


@case("file", "InvalidGraphError")
def soft_link(tmp: Path) -> Trial:
    import h5py

    def link(f):
        f["node/nodes/lif2"] = h5py.SoftLink("/node/nodes/lif")

    return Trial(_edit(_write(tmp, linear_lif()), link), spikes())


@case("file", "InvalidGraphError")
def named_datatype(tmp: Path) -> Trial:
    return Trial(_edit(_write(tmp, linear_lif()), lambda f: f["node/nodes/lif"].__setitem__("t", np.dtype("f8"))),
                 spikes())


@case("file", "InvalidGraphError")
def hard_link_cycle(tmp: Path) -> Trial:
    return Trial(_edit(_write(tmp, linear_lif()), lambda f: f["node/nodes/lif"].__setitem__("loop", f["node"])),
                 spikes())


@case("file", "InvalidGraphError")
def path_is_fifo(tmp: Path) -> Trial:
    import os

    os.mkfifo(tmp / "graph.nir")
    return Trial(tmp / "graph.nir", spikes())


@case("file", "InvalidGraphError")
def path_is_device(tmp: Path) -> Trial:
    import os

    return Trial(Path(os.devnull), spikes())


@case("file", "InvalidGraphError")
def path_is_directory(tmp: Path) -> Trial:
    return Trial(tmp, spikes())


@case("file", "InvalidGraphError")
def path_missing(tmp: Path) -> Trial:
    return Trial(tmp / "absent.nir", spikes())


@case("file", "InvalidGraphError")
def empty_file(tmp: Path) -> Trial:
    (tmp / "graph.nir").write_bytes(b"")
    return Trial(tmp / "graph.nir", spikes())


@case("file", "InvalidGraphError")
def text_file(tmp: Path) -> Trial:
    (tmp / "graph.nir").write_text("import os; os.system('echo pwned')\n")
    return Trial(tmp / "graph.nir", spikes())


@case("file", "InvalidGraphError")
def truncated_file(tmp: Path) -> Trial:
    path = _write(tmp, linear_lif())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return Trial(path, spikes())


@case("file", "InvalidGraphError")
def hdf5_without_node(tmp: Path) -> Trial:
    import h5py

    with h5py.File(tmp / "graph.nir", "w") as f:
        f["x"] = np.arange(3)
    return Trial(tmp / "graph.nir", spikes())


def _replace_weight(path: Path, **create: Any) -> Path:
    def edit(f):
        del f["node/nodes/lin/weight"]
        f["node/nodes/lin"].create_dataset("weight", **create)

    return _edit(path, edit)


@case("file", "TooLargeError")
def unwritten_chunked_weight_1e10(tmp: Path) -> Trial:
    path = _replace_weight(_write(tmp, linear_lif()), shape=(100_000, 100_000), dtype="f8", chunks=(100, 100))
    return Trial(path, spikes())


@case("file", "TooLargeError")
def unwritten_chunked_weight_16000(tmp: Path) -> Trial:
    path = _replace_weight(_write(tmp, linear_lif()), shape=(16_000, 16_000), dtype="f8", chunks=(100, 100))
    return Trial(path, spikes())


@case("file", "InvalidGraphError")
def compound_weight(tmp: Path) -> Trial:
    data = np.zeros((3, 2), dtype=[("a", "f8"), ("b", "i4")])
    return Trial(_replace_weight(_write(tmp, linear_lif()), data=data), spikes())


@case("file", "InvalidGraphError")
def external_storage_weight(tmp: Path) -> Trial:
    raw = tmp / "raw.bin"
    raw.write_bytes(np.ones(6).tobytes())
    path = _replace_weight(_write(tmp, linear_lif()), shape=(3, 2), dtype="f8", external=[(str(raw), 0, 48)])
    return Trial(path, spikes())


@case("file", "InvalidGraphError")
def virtual_weight(tmp: Path) -> Trial:
    import h5py

    with h5py.File(tmp / "source.h5", "w") as f:
        f["w"] = np.ones((3, 2))

    def edit(f):
        layout = h5py.VirtualLayout(shape=(3, 2), dtype="f8")
        layout[:] = h5py.VirtualSource(str(tmp / "source.h5"), "w", shape=(3, 2))
        del f["node/nodes/lin/weight"]
        f["node/nodes/lin"].create_virtual_dataset("weight", layout)

    return Trial(_edit(_write(tmp, linear_lif()), edit), spikes())


@case("file", "InvalidGraphError")
def file_without_input(tmp: Path) -> Trial:
    graph = nir.NIRGraph(nodes={"lif": lif(), "output": nir.Output(np.array([3]))}, edges=[("lif", "output")],
                         type_check=False)
    graph.nodes["lif"].input_type = {"input": np.array([3])}
    return Trial(_write(tmp, graph), spikes(n=3))


@case("file", "InvalidGraphError")
def file_without_output(tmp: Path) -> Trial:
    graph = nir.NIRGraph(nodes={"input": nir.Input(np.array([3])), "lif": lif()}, edges=[("input", "lif")],
                         type_check=False)
    return Trial(_write(tmp, graph), spikes(n=3))


@case("file", "InvalidGraphError")
def file_with_orphan_node(tmp: Path) -> Trial:
    graph = linear_lif()
    graph.nodes["stray"] = lif()
    graph.nodes["stray"].input_type = {"input": np.array([3])}
    graph.edges.append(("stray", "output"))
    return Trial(_write(tmp, graph), spikes())


@case("file", "InvalidGraphError")
def node_name_with_slash(tmp: Path) -> Trial:
    graph = chain(("a/b", lif()))
    return Trial(_write(tmp, graph), spikes(n=3))


@case("file", "InvalidGraphError")
def file_nested_200_deep(tmp: Path) -> Trial:
    return Trial(_write(tmp, nested(200)), spikes(n=3))


@case("file", "TooLargeError")
def file_delay_1e6_s_in_loop(tmp: Path) -> Trial:
    return Trial(_write(tmp, delay_loop(1e6)), spikes(n=3))


@case("file", RUNS)
def file_well_formed(tmp: Path) -> Trial:
    return Trial(_write(tmp, linear_lif()), spikes())


# --- graph objects ----------------------------------------------------------------------------------------


@case("graph", "InvalidGraphError")
def edges_none(tmp: Path) -> Trial:
    graph = linear_lif()
    graph.edges = None
    return Trial(graph, spikes())


@case("graph", "InvalidGraphError")
def edge_not_a_pair(tmp: Path) -> Trial:
    graph = linear_lif()
    graph.edges.append(("lif",))
    return Trial(graph, spikes())


@case("graph", "InvalidGraphError")
def edge_to_missing_node(tmp: Path) -> Trial:
    graph = linear_lif()
    graph.edges.append(("lif", "ghost"))
    return Trial(graph, spikes())


@case("graph", "InvalidGraphError")
def nodes_not_a_mapping(tmp: Path) -> Trial:
    graph = linear_lif()
    graph.nodes = list(graph.nodes.values())
    return Trial(graph, spikes())


@case("graph", "InvalidGraphError")
def node_name_not_a_string(tmp: Path) -> Trial:
    graph = linear_lif()
    graph.nodes[7] = graph.nodes.pop("lif")
    return Trial(graph, spikes())


@case("graph", "InvalidGraphError")
def unknown_node_type(tmp: Path) -> Trial:
    graph = linear_lif()
    graph.nodes["lif"] = object()
    return Trial(graph, spikes())


@case("graph", "InvalidGraphError")
def nested_3000_deep(tmp: Path) -> Trial:
    return Trial(nested(3000), spikes(n=3))


@case("graph", "InvalidGraphError")
def graph_without_input(tmp: Path) -> Trial:
    graph = linear_lif()
    del graph.nodes["input"]
    graph.edges = [e for e in graph.edges if e[0] != "input"]
    return Trial(graph, spikes())


@case("graph", "InvalidGraphError")
def not_a_graph(tmp: Path) -> Trial:
    return Trial(12345, spikes())


@case("graph", "InvalidGraphError")
def tau_zero(tmp: Path) -> Trial:
    return Trial(chain(("lif", nir.LIF(tau=np.zeros(3), r=np.ones(3), v_leak=np.zeros(3), v_threshold=np.ones(3),
                                        v_reset=np.zeros(3)))), spikes(n=3))


@case("graph", "InvalidGraphError")
def threshold_nan(tmp: Path) -> Trial:
    node = lif()
    node.v_threshold = np.array([1.0, np.nan, 1.0])
    return Trial(chain(("lif", node)), spikes(n=3))


@case("graph", "InvalidGraphError")
def weight_not_numeric(tmp: Path) -> Trial:
    graph = linear_lif()
    graph.nodes["lin"].weight = np.array([["a", "b"]] * 3)
    return Trial(graph, spikes())


@case("graph", "InvalidGraphError")
def conv_kernel_larger_than_input(tmp: Path) -> Trial:
    conv = nir.Conv1d(input_shape=2, weight=np.ones((1, 1, 5)), stride=1, padding=0, dilation=1, groups=1,
                      bias=np.zeros(1))
    return Trial(chain(("conv", conv), n_in=1, n_out=1), spikes(n=1).reshape(2, 20, 1))


@case("graph", "InvalidGraphError")
def delay_negative(tmp: Path) -> Trial:
    return Trial(chain(("d", nir.Delay(delay=np.full(3, -1e-3)))), spikes(n=3))


@case("graph", "InvalidGraphError")
def delay_nan(tmp: Path) -> Trial:
    return Trial(chain(("d", nir.Delay(delay=np.array([1e-3, np.nan, 1e-3])))), spikes(n=3))


@case("graph", "InvalidGraphError")
def delay_not_whole_steps(tmp: Path) -> Trial:
    return Trial(chain(("d", nir.Delay(delay=np.full(3, 1.5e-3)))), spikes(n=3))


@case("graph", "TooLargeError")
def delay_1e300_s(tmp: Path) -> Trial:
    return Trial(chain(("d", nir.Delay(delay=np.full(3, 1e300)))), spikes(n=3))


@case("graph", "TooLargeError")
def delay_1e300_s_in_loop(tmp: Path) -> Trial:
    return Trial(delay_loop(1e300), spikes(n=3))


@case("graph", "TooLargeError")
def delay_1e6_s_in_loop(tmp: Path) -> Trial:
    return Trial(delay_loop(1e6), spikes(n=3))


@case("graph", "TooLargeError")
def linear_1_to_1e5(tmp: Path) -> Trial:
    graph = chain(("lin", nir.Linear(weight=np.ones((100_000, 1)))), n_in=1, n_out=100_000)
    return Trial(graph, np.zeros((10, 1000, 1)))


@case("graph", "TooLargeError")
def weight_broadcast_view_1e10(tmp: Path) -> Trial:
    weight = np.broadcast_to(np.float64(0.5), (100_000, 100_000))
    return Trial(chain(("lin", nir.Linear(weight=weight)), n_in=100_000, n_out=100_000), np.zeros((1, 1, 100_000)))


@case("graph", RUNS)
def delay_in_loop_whole_steps(tmp: Path) -> Trial:
    return Trial(delay_loop(3e-3), spikes(n=3))


# --- inputs -----------------------------------------------------------------------------------------------


@case("input", "TooLargeError")
def input_broadcast_view_huge(tmp: Path) -> Trial:
    return Trial(linear_lif(), np.broadcast_to(np.float64(1.0), (100_000, 10_000, 2)))


@case("input", "InvalidInputError")
def input_nan(tmp: Path) -> Trial:
    x = spikes()
    x[0, 3, 1] = np.nan
    return Trial(linear_lif(), x)


@case("input", "InvalidInputError")
def input_inf(tmp: Path) -> Trial:
    x = spikes()
    x[1, 0, 0] = -np.inf
    return Trial(linear_lif(), x)


@case("input", "InvalidInputError")
def input_object_array(tmp: Path) -> Trial:
    return Trial(linear_lif(), np.array([[[object(), object()]]], dtype=object))


@case("input", "InvalidInputError")
def input_strings(tmp: Path) -> Trial:
    return Trial(linear_lif(), np.full((1, 2, 2), "1"))


@case("input", "InvalidInputError")
def input_complex(tmp: Path) -> Trial:
    return Trial(linear_lif(), spikes() + 1j)


@case("input", "InvalidInputError")
def input_wrong_shape(tmp: Path) -> Trial:
    return Trial(linear_lif(), np.zeros((2, 20, 5)))


@case("input", "InvalidInputError")
def input_missing_batch_axis(tmp: Path) -> Trial:
    return Trial(linear_lif(), np.zeros((20, 2)))


@case("input", "InvalidInputError")
def input_unknown_name(tmp: Path) -> Trial:
    return Trial(linear_lif(), {"input": spikes(), "other": spikes()})


@case("input", "InvalidInputError")
def input_not_given(tmp: Path) -> Trial:
    return Trial(linear_lif(), {})


@case("input", "InvalidInputError")
def input_gridded_wrong_dt(tmp: Path) -> Trial:
    return Trial(linear_lif(), nir.TimeGriddedData(spikes(), dt=5e-3))


@case("input", RUNS)
def input_empty_batch(tmp: Path) -> Trial:
    return Trial(linear_lif(), np.zeros((0, 20, 2)), kwargs={"record": True})


@case("input", RUNS)
def input_zero_steps(tmp: Path) -> Trial:
    return Trial(linear_lif(), np.zeros((2, 0, 2)), kwargs={"record": True})


@case("input", RUNS)
def input_empty_batch_and_steps(tmp: Path) -> Trial:
    return Trial(linear_lif(), np.zeros((0, 0, 2)))


@case("input", RUNS)
def input_zero_steps_delay_loop(tmp: Path) -> Trial:
    return Trial(delay_loop(2e-3), np.zeros((2, 0, 3)))


@case("input", RUNS)
def input_bool(tmp: Path) -> Trial:
    return Trial(linear_lif(), spikes() > 0)


@case("input", RUNS)
def input_int(tmp: Path) -> Trial:
    return Trial(linear_lif(), spikes().astype(np.int8))


# --- semantics and options --------------------------------------------------------------------------------


def _semantics(**kwargs: Any) -> Callable[[Path], Trial]:
    def make(tmp: Path) -> Trial:
        return Trial(linear_lif(), spikes(), Semantics(**kwargs))

    return make


for _name, _kwargs in {
    "dt_nan": dict(dt=float("nan")), "dt_zero": dict(dt=0.0), "dt_negative": dict(dt=-1e-3),
    "dt_string": dict(dt="1e-3; rm -rf /"), "method_unknown": dict(dt=1e-3, method="rk4"),
    "reset_unknown": dict(dt=1e-3, reset="__import__('os')"),
}.items():
    case("semantics", "InvalidSemanticsError", _name)(_semantics(**_kwargs))


@case("semantics", "InvalidSemanticsError")
def semantics_not_semantics(tmp: Path) -> Trial:
    return Trial(linear_lif(), spikes(), {"dt": 1e-3})


@case("semantics", "InvalidInputError")
def dtype_float16(tmp: Path) -> Trial:
    return Trial(linear_lif(), spikes(), kwargs={"dtype": "float16"})


@case("semantics", "InvalidInputError")
def require_unknown(tmp: Path) -> Trial:
    return Trial(linear_lif(), spikes(), kwargs={"require": "perfect"})


# --- the command line -------------------------------------------------------------------------------------

EXIT_2 = "exit 2"
BACKEND = "{backend}"  # replaced by the backend under test


@dataclass
class CliTrial:
    """``nirverse <argv>`` run in the case's folder; the files in ``unchanged`` must keep their bytes; a case
    that runs must write exactly the file ``written`` and print its name."""

    argv: list[str]
    unchanged: list[Path] = field(default_factory=list)
    written: str | None = None


def _cli_files(tmp: Path) -> Path:
    """graph.nir, in.npy, obj.npy, huge.npy (a header claiming 21.8 TiB), bomb.npz, text.npy in ``tmp``."""
    import zipfile

    _write(tmp, linear_lif())
    np.save(tmp / "in.npy", spikes())
    np.save(tmp / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp / "text.npy").write_text("1 2 3\n")
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 1, 1)))
    with open(tmp / "huge.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, {**header, "shape": (1_000_000, 1_000_000, 3)})
    with zipfile.ZipFile(tmp / "bomb.npz", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("input.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(member, {**header, "shape": (1_000_000, 1_000, 2)})
            member.write(bytes(8 * 10**6))
    return tmp / "graph.nir"


def _cli_case(name: str, expect: str, build: Callable[[Path], CliTrial]) -> None:
    def make(tmp: Path) -> CliTrial:
        _cli_files(tmp)
        return build(tmp)

    case("cli", expect, name)(make)


def _run_args(*extra: str) -> list[str]:
    return ["run", "graph.nir", "--dt", "1e-3", "--backend", BACKEND, *extra]


def _compare_args(*extra: str) -> list[str]:
    return ["compare", "graph.nir", "--backends", BACKEND, *extra]


def _existing(tmp: Path, name: str, argv: list[str]) -> CliTrial:
    (tmp / name).write_bytes(b"keep me")
    return CliTrial(argv, [tmp / name])


def _symlinked(tmp: Path) -> CliTrial:
    (tmp / "target.txt").write_bytes(b"keep me")
    (tmp / "link.npz").symlink_to(tmp / "target.txt")
    return CliTrial(_run_args("--input", "in.npy", "--output", "link.npz"), [tmp / "target.txt"])


def _fifo_input(tmp: Path) -> CliTrial:
    import os

    os.mkfifo(tmp / "fifo.npy")
    return CliTrial(_run_args("--input", "fifo.npy"))


for _name, _build in {
    "cli_input_missing": lambda tmp: CliTrial(_run_args("--input", "missing.npy")),
    "cli_input_directory": lambda tmp: CliTrial(_run_args("--input", str(tmp))),
    "cli_input_object_npy": lambda tmp: CliTrial(_run_args("--input", "obj.npy")),
    "cli_input_text_file": lambda tmp: CliTrial(_run_args("--input", "text.npy")),
    "cli_input_nir_file": lambda tmp: CliTrial(_run_args("--input", "graph.nir")),
    "cli_input_header_21_tib": lambda tmp: CliTrial(_run_args("--input", "huge.npy")),
    "cli_input_npz_bomb": lambda tmp: CliTrial(_run_args("--input", "bomb.npz")),
    "cli_input_fifo": _fifo_input,
    "cli_output_below_a_file": lambda tmp: CliTrial(_run_args("--input", "in.npy", "--output", "in.npy/x.npz")),
    "cli_output_existing": lambda tmp: _existing(tmp, "out.npz", _run_args("--input", "in.npy", "--output", "out.npz")),
    "cli_output_symlink": _symlinked,
    "cli_output_devnull": lambda tmp: CliTrial(_run_args("--input", "in.npy", "--output", "/dev/null")),
    "cli_compare_steps_negative": lambda tmp: CliTrial(_compare_args("--steps", "-5", "--no-plot")),
    "cli_compare_steps_1e9": lambda tmp: CliTrial(_compare_args("--steps", "1e9", "--no-plot")),
    "cli_compare_figure_txt": lambda tmp: CliTrial(_compare_args("--figure", "f.txt")),
    "cli_compare_figure_existing": lambda tmp: _existing(tmp, "fig.png", _compare_args("--figure", "fig.png")),
    "cli_compare_input_missing": lambda tmp: CliTrial(_compare_args("--input", "missing", "--no-plot")),
    "cli_conformance_output_not_json": lambda tmp: _existing(
        tmp, "s.json", ["conformance", "--backends", BACKEND, "--output", "s.json"]),
    "cli_conformance_output_list": lambda tmp: (
        (tmp / "l.json").write_text("[1, 2]"),
        CliTrial(["conformance", "--backends", BACKEND, "--output", "l.json"], [tmp / "l.json"]))[1],
}.items():
    _cli_case(_name, EXIT_2, _build)

_cli_case("cli_run_writes_exactly_the_given_path", RUNS,
          lambda tmp: CliTrial(_run_args("--input", "in.npy", "--output", "report"), written="report"))


def _second_default_run(tmp: Path) -> CliTrial:
    trial = _existing(tmp, "outputs.npz", _run_args("--input", "in.npy"))
    trial.written = "outputs-1.npz"
    return trial


_cli_case("cli_output_default_existing", RUNS, _second_default_run)
_cli_case("cli_output_missing_folder", RUNS,  # created, as the user asked for that path
          lambda tmp: CliTrial(_run_args("--input", "in.npy", "--output", "nodir/x.npz"), written="nodir/x.npz"))
