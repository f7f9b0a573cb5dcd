"""`gnivo compare` and `gnivo plot` (being built)."""


def compare() -> None:
    """Train several algorithms x seeds and compare them."""
    raise NotImplementedError


def plot() -> None:
    """Plot learning curves from existing run directories."""
    raise NotImplementedError
