"""`gnivo train` (being built)."""


def train() -> None:
    """Train a model with a recipe."""
    raise NotImplementedError
