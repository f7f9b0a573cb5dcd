"""The `math` reward: answer extraction, gold answers, equivalence checks, worker processes."""
