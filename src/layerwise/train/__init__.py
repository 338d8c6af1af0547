"""Training: the loop over epochs and batches, callbacks, history and checkpoints."""
