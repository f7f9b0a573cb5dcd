"""Small file helpers every stage shares: atomic writes, JSON and JSONL reading, output-path checks."""
