import importlib.util

if importlib.util.find_spec("torch") is not None:
    import torch

    # the test networks are tiny: with several intra-op threads each per-step op mostly pays for thread
    # synchronisation on a loaded machine
    torch.set_num_threads(1)
