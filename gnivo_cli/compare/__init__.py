"""`gnivo compare` and `gnivo plot`'s library side: the grid of runs, their curves, table and figure."""
