r"""What the generated GeNN code will index, checked before it is built and before each run.

GeNN's generated C++ trusts its inputs: a wrong delay slot or a short buffer is an out-of-bounds
access (a segmentation fault, or silently wrong numbers), never an exception. So before
``GeNNModel.build`` and before each ``load`` every index the code will compute is checked against
the sizes GeNN allocates; an inconsistency raises :class:`~nirverse.errors.BackendError` naming the
population or synapse population.

* **Schedule** (see :mod:`._lowering`): a projection with :math:`k` semantic delays from a population
  with lag :math:`L_s` to one with lag :math:`L_d` has ``axonal_delay_steps``
  :math:`D = L_d - L_s - 1 + k \ge 0`.
* **Delay slots**: GeNN reads a source delayed by :math:`D` in slot
  :math:`(p + \text{slots} - D) \bmod \text{slots}` of its queue pointer :math:`p`, so the source needs
  ``num_delay_slots`` :math:`> D`.
* **Queue pointer initialised**: GeNN 5.4.0 zeroes a population's queue pointer :math:`p` only in the
  init code it generates for populations that emit spikes, receive synapses, or have a variable
  initialised by code. A delayed population with none of these (an Input or the constant population
  behind graded synapses with delays) keeps :math:`p` = whatever the allocator left there, and the first
  synaptic read ``x[p * n + i]`` lands anywhere in memory (issue 16). :mod:`._model` therefore
  initialises ``out`` of every non-spiking population by code; this check proves it did.
* **Buffers**: an Input population of lag :math:`L` reads ``seq[(t - L) n + i]`` for
  :math:`L \le t < S` (:math:`S` GeNN steps), so ``seq`` holds exactly :math:`(S - L) n` values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from nirverse.errors import BackendError

from ._lowering import Network

__all__ = ["check_model", "check_sequence"]


def check_model(net: Network, pops: Sequence, syns: Sequence, device_init: Sequence[set[str]]) -> None:
    """Check the unbuilt GeNN model (``pops``/``syns``: its neuron/synapse groups in ``net`` order;
    ``device_init``: per population, the variables initialised by GeNN's init code)."""
    incoming = {pr.dst for pr in net.projections}
    for j, (pr, sg) in enumerate(zip(net.projections, syns)):
        src, dst = net.populations[pr.src], net.populations[pr.dst]
        scheduled = dst.lag - src.lag - 1 + pr.k
        if pr.delay != scheduled or pr.delay < 0 or sg.axonal_delay_steps != pr.delay:
            raise BackendError(
                f"synapse population s{j} ({_label(src)} -> {_label(dst)}) has axonal delay {sg.axonal_delay_steps} "
                f"(planned {pr.delay})", node=dst.node, field="axonal_delay_steps",
                expected=f"L_dst - L_src - 1 + k = {dst.lag} - {src.lag} - 1 + {pr.k} = {scheduled} >= 0",
            )
        slots = pops[pr.src]._num_delay_slots
        if slots <= pr.delay:
            raise BackendError(
                f"population p{pr.src} ({_label(src)}) has {slots} delay slot(s) but s{j} reads it {pr.delay} step(s) late",
                node=src.node, field="num_delay_slots", expected=f"at least {pr.delay + 1}",
            )
    for i, (pop, group) in enumerate(zip(net.populations, pops)):
        if group._num_delay_slots > 1 and not (pop.spiking or i in incoming or device_init[i]):
            raise BackendError(
                f"population p{i} ({_label(pop)}) has {group._num_delay_slots} delay slots but GeNN would leave its "
                "queue pointer uninitialised (no spikes, no incoming synapses, no variable initialised by code)",
                node=pop.node, field="num_delay_slots", expected="a variable initialised by GeNN's init code",
            )


def check_sequence(net: Network, sequences: Mapping[int, int], total: int) -> None:
    """``sequences``: per Input population, the length of its ``seq`` buffer for ``total`` GeNN steps."""
    for i, length in sequences.items():
        pop = net.populations[i]
        needed = (total - pop.lag) * pop.size
        if pop.lag > total or length != needed:
            raise BackendError(
                f"input population p{i} ({_label(pop)}) has a buffer of {length} values for {total} steps at lag {pop.lag}",
                node=pop.node, field="seq", expected=f"(steps - lag) * size = {needed} values",
            )


def _label(pop) -> str:
    return pop.node or pop.role
