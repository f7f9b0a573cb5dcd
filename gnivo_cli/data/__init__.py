"""Training prompts: data sources, synthetic tasks, and the prompts built from them."""
