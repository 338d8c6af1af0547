"""Inspection: the seed's reference algorithm, gradient checking, explanation and gradient diagnostics."""
