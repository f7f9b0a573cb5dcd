"""A training run: starting or resuming it, its output directory, callbacks, checkpoints, launching."""
