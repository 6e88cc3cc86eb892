"""Every backend × every case of the conformance catalogue (the kit, once per backend).

Verdicts are shared with the plugins' own kit runs in the same process; run with
``--nirverse-scoreboard results/scoreboard.json`` to write the scoreboard.
"""


from nirverse.testing import BackendConformance, simulator_backends

for _name in simulator_backends():
    globals()[f"TestConformance_{_name}"] = type(f"TestConformance_{_name}", (BackendConformance,), {"backend": _name})
