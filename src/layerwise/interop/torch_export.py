"""Conversion to PyTorch: a network as an equivalent ``torch.nn.Sequential``."""

from __future__ import annotations

import functools

from ..engine.network import Network
from ..errors import ConfigError
from ..ops.activations import Activation
from ..preprocessing import fold, input_affine
from .dependencies import _check_network, _import_torch

_TORCH_SOFTPLUS_THRESHOLD = {"float32": 20.0, "float64": 40.0}
"""Above these inputs torch's Softplus returns ``x``; the dropped ``log1p(exp(-x))`` is below half an ulp."""


def to_torch(net: Network):
    """Build a ``torch.nn.Sequential`` computing the same function as ``net``.

    Each ``Dense`` layer becomes an ``nn.Linear`` holding a copy of ``W``
    (``weight``, shape ``(n_out, n_in)``) and ``b`` (``bias``), followed by
    its activation module: ``nn.ReLU``, ``nn.LeakyReLU(negative_slope)``,
    ``nn.ELU(alpha)``, ``nn.SELU``, ``nn.GELU()`` (exact, erf form),
    ``nn.SiLU``, ``nn.Softplus``, ``nn.Tanh``, ``nn.Sigmoid``,
    ``nn.Softmax(dim=1)``, and for ``exp`` a module applying ``torch.exp``
    (which overflows where layerwise's saturates); the identity adds no module. Each ``Dropout``
    becomes ``nn.Dropout(rate)`` at the same place. A network with
    ``preprocessing`` gives a module that takes raw features, as
    :func:`to_onnx` does: its standardisation steps are folded into the
    first and last ``Linear`` (in front of a convolution, a first module
    computes ``x * scale + shift``); a model trained on a table takes the
    encoded matrix ``net.preprocessing.encode(table)`` (torch has no string
    tensors for its text columns), whose columns
    ``net.preprocessing.encoded_names()`` lists.

    Parameters
    ----------
    net : Network
        A built network.

    Returns
    -------
    torch.nn.Sequential
        In the network's dtype (``torch.float32`` or ``torch.float64``) and
        in evaluation mode (dropout off, as in ``net.predict``); call
        ``.train()`` on it to fine-tune with dropout.

    Raises
    ------
    MissingDependencyError
        If torch is not installed.
    ConfigError
        If the network is not built, an activation has no torch module
        (an ELU with a ``scale`` other than 1 that is not SELU), or a
        preprocessing step cannot be folded into the weights.

    Notes
    -----
    ``nn.Softplus`` returns ``x`` above its ``threshold``; it is set to 20
    for float32 and 40 for float64, where ``log(1 + exp(x))`` and ``x`` are
    the same number in that precision, so outputs match layerwise's exact
    softplus.
    """
    torch = _import_torch()
    _check_network(net, "to_torch")
    if net.preprocessing is not None:
        net = fold(net)
    nn = torch.nn

    def activation_module(activation: Activation, l: int):
        return _torch_activation(nn, activation, net.dtype.name, l)

    modules = [module for layer in net.layers for module in layer.torch_modules(torch, activation_module)]
    affine = None if net.preprocessing is None else input_affine(net.preprocessing)
    if affine is not None:  # input steps that could not fold into a convolution
        scale, shift = (torch.from_numpy(part.reshape(net.input_shape).astype(net.dtype)) for part in affine)
        modules.insert(0, _torch_affine_module()(scale, shift))
    return nn.Sequential(*modules).eval()


def _torch_activation(nn, activation: Activation, dtype: str, l: int):
    name = activation.name
    if name == "identity":
        return None
    if name == "leaky_relu":
        return nn.LeakyReLU(float(activation.negative_slope))
    if name == "selu":
        return nn.SELU()
    if name == "elu" and float(activation.scale) == 1.0:
        return nn.ELU(float(activation.alpha))
    if name == "elu":
        raise ConfigError(
            f"layer {l}: an ELU with scale={activation.scale!r} has no torch.nn module; "
            "torch.nn.ELU has scale 1 and torch.nn.SELU fixed constants"
        )
    if name == "softplus":
        return nn.Softplus(beta=1.0, threshold=_TORCH_SOFTPLUS_THRESHOLD[dtype])
    if name == "softmax":
        return nn.Softmax(dim=1)
    if name == "exp":
        return _torch_exp_module()()
    plain = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
    if name in plain:
        return plain[name]()
    raise ConfigError(f"layer {l}: activation {activation!r} has no torch.nn module")


@functools.lru_cache(maxsize=1)
def _torch_exp_module():
    """``torch.nn`` has no exponential module: this one applies ``torch.exp``."""
    import torch

    class Exp(torch.nn.Module):
        """``exp(x)``, element-wise (layerwise's ``exp`` activation)."""

        def forward(self, x):
            return torch.exp(x)

    return Exp


@functools.lru_cache(maxsize=1)
def _torch_affine_module():
    """An element-wise ``x * scale + shift``: the input preprocessing in front of a convolution."""
    import torch

    class Affine(torch.nn.Module):
        """``x * scale + shift`` with fixed (buffer) ``scale`` and ``shift``."""

        def __init__(self, scale, shift):
            super().__init__()
            self.register_buffer("scale", scale)
            self.register_buffer("shift", shift)

        def forward(self, x):
            return x * self.scale + self.shift

    return Affine
