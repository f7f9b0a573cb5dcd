"""Models: resolving a reference to weights, loading, devices, checks after load, tiny test models, vLLM."""
