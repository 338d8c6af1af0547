"""The maths of single layers: activations, losses and initialisers, each a registry of small objects."""
