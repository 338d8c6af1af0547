"""Optimisation: optimizers over the flat parameter buffer, their compiled kernels, and schedules."""
