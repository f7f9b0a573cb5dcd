"""GN-IVO: the loss (pure tensors), its trl config and trainer, and the step boundaries it uses."""
