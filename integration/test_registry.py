"""Discovery never imports a framework: loading every registered plugin's backend class (the entry points)
leaves torch, jax, brian2, nengo, ... unimported until a backend is asked to check or run."""

import subprocess
import sys

FRAMEWORKS = ["torch", "jax", "brian2", "nengo", "norse", "snntorch", "rockpool", "tonic", "pygenn", "jaxsnn", "sinabs",
              "nest", "pynestml", "spikingjelly", "spyx", "flax"]


def test_loading_every_backend_class_imports_no_framework():
    code = (
        "import sys, nirverse\n"
        "from nirverse.backends import backend_names, get_backend\n"
        "names = backend_names()\n"
        "for n in names:\n"
        "    try:\n"
        "        get_backend(n)\n"
        "    except nirverse.BackendUnavailableError:\n"
        "        pass\n"
        f"print(names, [m for m in {FRAMEWORKS!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]"), out


def test_tonic_is_a_data_plugin_not_a_backend():
    from nirverse.backends import backend_names

    assert "tonic" not in backend_names()
