import importlib.util

import numpy as np
import pytest

if importlib.util.find_spec("torch") is not None:
    import torch

    # the test networks are tiny: with several intra-op threads each per-step op mostly pays for thread
    # synchronisation (30 ms instead of 0.03 ms per op on a loaded 2-core machine)
    torch.set_num_threads(1)


@pytest.fixture
def run_native():
    """Run a Norse model step by step, Norse-style: ``y, state = model(x_t, state)``; (batch, time) layout."""

    def run(model, x: np.ndarray) -> np.ndarray:
        import torch

        xt = torch.as_tensor(np.swapaxes(x, 0, 1))
        state, ys = None, []
        with torch.no_grad():
            for t in range(xt.shape[0]):
                y, state = model(xt[t], state)
                ys.append(y)
        return np.swapaxes(torch.stack(ys).double().numpy(), 0, 1)

    return run
