"""The algorithms: the table `gnivo train` reads, GN-IVO itself, and trl's trainers as baselines."""
