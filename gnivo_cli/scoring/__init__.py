"""`gnivo score`'s library side: score a JSONL file of completions with any reward."""
