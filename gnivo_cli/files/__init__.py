"""Small file helpers every stage shares: atomic writes, JSONL reading, output-path checks."""
