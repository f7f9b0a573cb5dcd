"""`gnivo score` (being built)."""


def score() -> None:
    """Score a JSONL file of completions with a reward."""
    raise NotImplementedError
