"""`gnivo eval` (being built)."""


def evaluate() -> None:
    """Evaluate a model on a math benchmark."""
    raise NotImplementedError
