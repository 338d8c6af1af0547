"""The maths of single layers: activations, losses and initialisers, each a registry of small objects."""

from . import activations, initializers, losses

__all__ = ["activations", "initializers", "losses"]
