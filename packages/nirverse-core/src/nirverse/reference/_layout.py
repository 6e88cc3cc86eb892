"""The array layout shared by :mod:`~nirverse.reference.compiled` (which describes a group as arrays) and
the numba kernel (which steps it): node kinds, flag bits and the columns of the node table."""

IDENTITY, AFFINE, SCALE, THRESHOLD, NEURON = range(5)
KINDS = {"Input": IDENTITY, "Output": IDENTITY, "Pass": IDENTITY, "Flatten": IDENTITY, "Affine": AFFINE,
         "Linear": AFFINE, "Scale": SCALE, "Threshold": THRESHOLD, "LI": NEURON, "LIF": NEURON, "I": NEURON,
         "IF": NEURON, "CubaLI": NEURON, "CubaLIF": NEURON}
LEAKY, SPIKING, CUBA, SUBTRACT, BIAS, KEEP_U = 1, 2, 4, 8, 16, 32
#: columns of the node table
KIND, SIZE_IN, SIZE_OUT, OUT, EDGE_LO, EDGE_HI, PARAM, FLAGS, STATE, TRACE_V, TRACE_I, TRACE_U = range(12)
#: order of the per-element neuron parameter blocks at PARAM
NEURON_PARAMS = ("r", "kappa", "v_leak", "kappa_syn", "w_in", "v_threshold", "v_reset")
