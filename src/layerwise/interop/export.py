"""Interoperability: ONNX export and conversion to and from PyTorch.

Both ONNX and PyTorch are optional extras. They are imported only when one of
these functions runs; without them a :class:`MissingDependencyError` says
which extra to install.

* :func:`to_onnx` writes the network as an ONNX graph for inference (any
  ONNX runtime, including onnxruntime).
* :func:`to_torch` builds an equivalent ``torch.nn.Sequential``.
* :func:`from_torch` builds a :class:`~layerwise.engine.network.Network` from a
  ``torch.nn.Sequential`` of ``Linear`` layers and activations, or from a
  bare ``state_dict`` of ``Linear`` layers.

Weights need no transposing anywhere: layerwise stores ``W[l]`` as
``(n_l, n_{l-1})``, which is ``nn.Linear.weight``'s layout and what an ONNX
``Gemm`` with ``transB=1`` expects.

This module is the import path; the code lives in :mod:`.onnx_export`,
:mod:`.torch_export` and :mod:`.torch_import` (with :mod:`.torch_specs` and
:mod:`.torch_images`), their optional imports in :mod:`.dependencies`.
"""

from .dependencies import MissingDependencyError
from .onnx_export import DEFAULT_OPSET, GELU_OPSET, MIN_OPSET, to_onnx
from .torch_export import to_torch
from .torch_import import from_torch

__all__ = ["DEFAULT_OPSET", "GELU_OPSET", "MIN_OPSET", "MissingDependencyError", "from_torch", "to_onnx", "to_torch"]
