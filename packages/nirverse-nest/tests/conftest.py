import pytest

pytest.importorskip("nest", reason="nest-simulator is not installed: pip install 'nirverse[nest]'")
