import subprocess
import sys

FRAMEWORKS = ["torch", "jax", "brian2", "nengo", "norse", "snntorch", "rockpool", "tonic", "pygenn", "jaxsnn", "sinabs",
              "nest", "pynestml", "spikingjelly", "spyx", "flax",
              "matplotlib", "rich"]


def test_import_nirverse_imports_no_framework():
    code = (
        "import sys, nirverse\n"
        "nirverse.backends.backend_names()\n"  # discovery reads metadata only
        f"print([m for m in {FRAMEWORKS!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
