"""Interoperability: ONNX export and conversion to and from PyTorch.

Both ONNX and PyTorch are optional extras. They are imported only when one of
these functions runs; without them a :class:`MissingDependencyError` says
which extra to install.

* :func:`to_onnx` writes the network as an ONNX graph for inference (any
  ONNX runtime, including onnxruntime).
* :func:`to_torch` builds an equivalent ``torch.nn.Sequential``.
* :func:`from_torch` builds a :class:`~layerwise.network.Network` from a
  ``torch.nn.Sequential`` of ``Linear`` layers and activations, or from a
  bare ``state_dict`` of ``Linear`` layers.

Weights need no transposing anywhere: layerwise stores ``W[l]`` as
``(n_l, n_{l-1})``, which is ``nn.Linear.weight``'s layout and what an ONNX
``Gemm`` with ``transB=1`` expects.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .._version import __version__
from ..engine.checks import check_finite
from ..engine.network import Network
from ..errors import ConfigError, LayerwiseError, ShapeError
from ..io.model_file import write_atomically
from ..layers import BatchNorm, Dense, Dropout
from ..ops.activations import ELU, Activation, LeakyReLU, get_activation
from ..preprocessing import fold, input_affine
from .onnx_encoding import encoding_nodes

__all__ = ["MissingDependencyError", "from_torch", "to_onnx", "to_torch"]

DEFAULT_OPSET = 17
"""ONNX opset written by default: widely supported (onnxruntime 1.12 and later)."""

MIN_OPSET = 13
"""Oldest opset :func:`to_onnx` writes: the first with today's ``Softmax(axis)`` semantics."""

GELU_OPSET = 20
"""First opset with a ``Gelu`` operator; older opsets get GELU built from ``Erf``."""


class MissingDependencyError(LayerwiseError, ImportError):
    """An optional dependency (an extra such as ``layerwise[onnx]``) is not installed."""


def _import_onnx():
    try:
        import onnx
        import onnx.checker
        import onnx.helper
        import onnx.numpy_helper
    except ImportError:
        raise MissingDependencyError(
            'ONNX export needs the onnx package, which is not installed; run: pip install "layerwise[onnx]"'
        ) from None
    return onnx


def _import_torch():
    try:
        import torch
    except ImportError:
        raise MissingDependencyError(
            'PyTorch conversion needs torch, which is not installed; run: pip install "layerwise[torch]"'
        ) from None
    return torch


def _check_network(net, function: str) -> None:
    if not isinstance(net, Network):
        raise ConfigError(f"{function} expects a layerwise Network, received {type(net).__name__}")
    if not net.built:
        raise ConfigError(
            f"{function} needs a built network (known input size); pass input_dim= or call forward/fit first"
        )


# ---------------------------------------------------------------------- ONNX
def to_onnx(net: Network, path: str | os.PathLike | None = None, *, opset: int = DEFAULT_OPSET):
    """Export a network to ONNX for inference.

    The graph has one input ``"X"`` of shape ``("batch", n_0)`` (the batch
    dimension is dynamic) and one output ``"Y"`` of shape ``("batch", n_L)``,
    both in the network's dtype. ``Y`` is ``net.predict_proba(X)``: class
    probabilities for classifiers, values for regression (``net.predict(X)``
    on the raw targets' scale). A network with ``preprocessing`` (a model
    trained by ``layerwise train``) takes raw features: its standardisation
    steps are folded into the first and last layers (see
    :func:`layerwise.preprocessing.fold`); in front of a convolution they
    stay as the graph's first nodes, ``A0 = X * scale + shift`` (``Mul`` and
    ``Add``). A model trained on a table takes its raw columns, its
    encoding in the graph: ``"X"`` holds the numeric columns (NaN where
    missing) and ``"X_text"`` the text columns (strings, ``""`` where
    missing), each in the training order, which the metadata key
    ``"layerwise.inputs"`` lists; the nodes are told in
    :mod:`layerwise.interop.onnx_encoding`. Each ``Dense``
    layer becomes a ``Gemm`` (``Z = X @ W.T + b``, ``transB=1``, with ``W``
    stored ``(n_out, n_in)`` as initializer ``"W<l>"`` and ``b`` as ``"b<l>"``)
    followed by its activation's node(s); the identity adds none. Dropout
    is omitted: it does nothing at inference.

    Activations map to ``Relu``, ``LeakyRelu(alpha)``, ``Elu(alpha)`` (an ELU
    with a ``scale`` other than 1 and SELU become ``Selu(alpha, gamma)``),
    ``Softplus``, ``Tanh``, ``Sigmoid``, ``Softmax(axis=1)``; SiLU is
    ``x * Sigmoid(x)``; GELU is the ``Gelu`` operator from opset 20 and
    ``0.5 * x * (1 + Erf(x / sqrt(2)))`` below.

    The network's loss and class labels are stored in the model's metadata
    (``metadata_props`` keys ``"layerwise.loss"``, ``"layerwise.loss_args"`` and ``"layerwise.classes"``,
    JSON), since the graph itself returns probabilities, not labels.

    Parameters
    ----------
    net : Network
        A built network.
    path : str or path-like, optional
        Where to save the model. The file is written atomically (a temporary
        file beside it, then ``os.replace``).
    opset : int, default 17
        ONNX opset version, from 13 to the newest the installed onnx knows.
        17 runs on onnxruntime 1.12 and later.

    Returns
    -------
    onnx.ModelProto
        The model, already checked with ``onnx.checker.check_model``.

    Raises
    ------
    MissingDependencyError
        If onnx is not installed.
    ConfigError
        If the network is not built, the opset is out of range, an
        activation has no ONNX translation, or a preprocessing step cannot be
        folded into the weights.
    ModelFileError
        If ``path`` cannot be written.

    Notes
    -----
    ONNX stores operator attributes as float32, so the parameters of
    ``LeakyRelu``, ``Elu`` and ``Selu`` are rounded to float32 even in a
    float64 graph (a relative difference near 1e-8). onnxruntime's CPU
    provider has no float64 kernels for ``Elu``, ``Selu``, ``Softplus``,
    ``Erf`` and ``Gelu``: a float64 network with ELU, SELU, softplus or GELU
    exports to a valid model that onnxruntime cannot run on the CPU; export
    ``net.astype("float32")`` for it instead.
    """
    onnx = _import_onnx()
    _check_network(net, "to_onnx")
    if net.preprocessing is not None:
        net = fold(net)
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise ConfigError(f"opset must be an integer from {MIN_OPSET} to {newest}, received {opset!r}")
    graph = _GraphBuilder(onnx, net.dtype, opset)
    x = "X"
    if net.preprocessing is not None and net.preprocessing.encoding:  # a table's columns: see onnx_encoding
        x = encoding_nodes(graph, net.preprocessing)
        if len(net.input_shape) > 1:
            graph.initializers["A0_shape"] = onnx.numpy_helper.from_array(
                np.array([-1, *net.input_shape], dtype=np.int64), name="A0_shape")
            x = graph.node("Reshape", [x, "A0_shape"], "A0_image")
    affine = None if net.preprocessing is None else input_affine(net.preprocessing)
    if affine is not None:  # input steps that could not fold into a convolution
        scale, shift = (part.reshape(net.input_shape).astype(net.dtype) for part in affine)
        x = graph.node("Add", [graph.node("Mul", [x, graph.initializer("input_scale", scale)], "X_scaled"),
                               graph.initializer("input_shift", shift)], "A0")
    for layer in net.layers:
        x = layer.onnx_nodes(graph, x, "Y" if layer is net.output else layer.output_key)
    model = graph.model(net)
    onnx.checker.check_model(model, full_check=True)
    if path is not None:
        write_atomically(Path(path), model.SerializeToString())
    return model


class _GraphBuilder:
    """Collects nodes and initializers of a one-input, one-output graph."""

    def __init__(self, onnx, dtype: np.dtype, opset: int):
        self.onnx = onnx
        self.dtype = dtype
        self.opset = opset
        self.elem_type = onnx.helper.np_dtype_to_tensor_dtype(dtype)
        self.nodes = []
        self.initializers = {}
        self.inputs = None  # the graph inputs, when not the one "X" of the network's input shape
        self.props = {}  # metadata beyond the loss and classes
        self.domains = {}  # operator sets beyond the default one

    def initializer(self, name: str, value) -> str:
        """Add a constant tensor (once) in the network's dtype and return its name."""
        if name not in self.initializers:
            array = np.asarray(value, dtype=self.dtype)
            self.initializers[name] = self.onnx.numpy_helper.from_array(array, name=name)
        return name

    def node(self, op: str, inputs: list[str], output: str, **attributes) -> str:
        """Add a node writing tensor ``output`` (the node takes the same name) and return ``output``."""
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def activation(self, activation: Activation, z: str, out: str, l: int) -> str:
        """Add the node(s) computing ``out = g(z)`` and return ``out``."""
        _onnx_activation(self, activation, z, out, l)
        return out

    def model(self, net: Network):
        helper = self.onnx.helper
        n_out = net.n_outputs
        graph = helper.make_graph(
            self.nodes,
            "layerwise_network",
            self.inputs or [helper.make_tensor_value_info("X", self.elem_type, ["batch", *net.input_shape])],
            [helper.make_tensor_value_info("Y", self.elem_type, ["batch", n_out])],
            initializer=list(self.initializers.values()),
            doc_string=repr(net),
        )
        opsets = [helper.make_opsetid("", self.opset),
                  *(helper.make_opsetid(domain, version) for domain, version in self.domains.items())]
        model = helper.make_model(graph, opset_imports=opsets, producer_name="layerwise",
                                  producer_version=_version())
        model.ir_version = helper.find_min_ir_version_for(opsets)
        props = {
            "layerwise.loss": net.loss_fn.name,
            "layerwise.loss_args": json.dumps(net.loss_fn.get_config()),
            "layerwise.classes": json.dumps(None if net.classes is None else list(net.classes)),
        }
        helper.set_model_props(model, {**props, **self.props})
        return model


_ONNX_PLAIN = {"relu": "Relu", "softplus": "Softplus", "tanh": "Tanh", "sigmoid": "Sigmoid", "exp": "Exp"}


def _onnx_activation(graph: _GraphBuilder, activation: Activation, z: str, out: str, l: int) -> None:
    """Append the node(s) computing ``out = g(z)``."""
    name = activation.name
    if name in _ONNX_PLAIN:
        graph.node(_ONNX_PLAIN[name], [z], out)
    elif name == "leaky_relu":
        graph.node("LeakyRelu", [z], out, alpha=float(activation.negative_slope))
    elif name in ("elu", "selu"):
        alpha, scale = float(activation.alpha), float(activation.scale)
        if scale == 1.0:
            graph.node("Elu", [z], out, alpha=alpha)
        else:
            graph.node("Selu", [z], out, alpha=alpha, gamma=scale)
    elif name == "silu":
        graph.node("Mul", [z, graph.node("Sigmoid", [z], f"{z}_sigmoid")], out)
    elif name == "gelu" and graph.opset >= GELU_OPSET:
        graph.node("Gelu", [z], out)
    elif name == "gelu":
        scaled = graph.node("Div", [z, graph.initializer("sqrt2", math.sqrt(2.0))], f"{z}_scaled")
        erf = graph.node("Erf", [scaled], f"{z}_erf")
        cdf = graph.node("Add", [erf, graph.initializer("one", 1.0)], f"{z}_erf_plus_1")
        half_x = graph.node("Mul", [z, graph.initializer("half", 0.5)], f"{z}_half")
        graph.node("Mul", [half_x, cdf], out)
    elif name == "softmax":
        graph.node("Softmax", [z], out, axis=1)
    else:
        raise ConfigError(f"layer {l}: activation {name!r} has no ONNX translation")


def _version() -> str:
    return __version__


# ------------------------------------------------------------- to PyTorch
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


# ----------------------------------------------------------- from PyTorch
_SUPPORTED_MODULES = (
    "Linear, BatchNorm1d, ReLU, LeakyReLU, ELU, SELU, GELU (approximate='none'), SiLU, Softplus (beta=1), Tanh, "
    "Sigmoid, Softmax (dim=1), Dropout, Identity and nested Sequential; with input_shape=(C, H, W) also Conv2d, "
    "MaxPool2d, AvgPool2d, Flatten and BatchNorm2d"
)


def from_torch(source, *, activations: Sequence | None = None, loss: str | None = None,
               input_dim: int | None = None, dtype: str | None = None, seed: int | None = None,
               input_shape: tuple[int, ...] | None = None) -> Network:
    """Build a network from a PyTorch ``nn.Sequential`` or a ``state_dict`` of ``Linear`` layers.

    A ``Sequential`` may hold ``nn.Linear`` layers, each optionally followed
    directly by one activation module (``ReLU``, ``LeakyReLU``, ``ELU``,
    ``SELU``, ``GELU`` with ``approximate="none"``, ``SiLU``, ``Softplus``
    with ``beta=1``, ``Tanh``, ``Sigmoid``, ``Softmax`` over dim 1),
    ``nn.Dropout`` and ``nn.Identity``; nested ``Sequential`` containers are
    flattened. A ``Linear`` without bias gets a zero bias.

    A bare ``state_dict`` (a mapping such as ``{"0.weight": ..., "0.bias":
    ..., "2.weight": ..., "2.bias": ...}``, values tensors or arrays) holds no
    activations: its ``Linear`` layers, taken in the mapping's order, get
    ReLU in the hidden layers and the identity at the output unless
    ``activations`` says otherwise.

    Parameters
    ----------
    source : torch.nn.Sequential, torch.nn.Linear or mapping
        The model or its ``state_dict``.
    activations : sequence of str or Activation, optional
        For a ``state_dict`` only: one activation per ``Linear`` layer.
    loss : str, optional
        The network's loss; by default chosen from the output activation as
        :class:`~layerwise.network.Network` does (softmax -> cross_entropy,
        sigmoid -> binary_cross_entropy, otherwise mse). A PyTorch model that
        ends in a ``Linear`` producing logits for ``nn.CrossEntropyLoss``
        needs an ``nn.Softmax(dim=1)`` appended to import as a classifier.
    input_dim : int, optional
        Checked against the first layer's ``in_features`` when given.
    input_shape : tuple of int, optional
        ``(C, H, W)`` of one example, needed when the ``Sequential`` holds image modules: ``Conv2d``
        (groups 1, dilation 1, zero padding), ``MaxPool2d`` and ``AvgPool2d`` (no padding, floor
        mode), ``Flatten`` and ``BatchNorm2d`` (affine, with running statistics); an activation may
        follow a ``Conv2d`` or a ``BatchNorm`` as it follows a ``Linear``.
    dtype : {"float32", "float64"}, optional
        By default float64 if any parameter is float64, else float32.
    seed : int, optional
        Seed of the new network's generator (used for dropout and shuffling
        when it is trained further).

    Returns
    -------
    Network
        A built network with the source's weights.

    Raises
    ------
    MissingDependencyError
        If ``source`` is a module and torch is not installed.
    ConfigError
        For an unsupported module or ``state_dict`` entry (the message names
        it and lists what is supported), or bad arguments.
    ShapeError
        If consecutive layers' sizes do not chain, or ``input_dim`` differs
        from the first layer's input size.
    """
    if isinstance(source, Mapping):
        specs = _specs_from_state_dict(source, activations)
    else:
        torch = _import_torch()
        if not isinstance(source, torch.nn.Module):
            raise ConfigError(
                f"from_torch expects a torch.nn.Sequential or a state_dict, received {type(source).__name__}"
            )
        if activations is not None:
            raise ConfigError("activations= applies to a state_dict only; a module carries its own activations")
        if isinstance(source, torch.nn.Sequential):
            children = list(_flatten(torch.nn, source, ""))
            if any(type(child).__name__ in _IMAGE_MODULES for _, child in children):
                return _image_network(torch, children, input_shape, loss, dtype, seed)
        specs = _specs_from_module(torch.nn, source)
    return _build_network(specs, loss=loss, input_dim=input_dim, dtype=dtype, seed=seed)


class _LinearSpec:
    """One ``Linear`` layer read from the source: its name, weights and activation."""

    def __init__(self, name: str, weight: np.ndarray, bias: np.ndarray | None, activation=None):
        self.name, self.weight, self.bias, self.activation = name, weight, bias, activation


class _NormSpec:
    """One ``BatchNorm1d`` read from the source: its parameters, running statistics and activation."""

    def __init__(self, name: str, module, activation=None):
        if not module.affine or not module.track_running_stats or module.momentum is None:
            raise ConfigError(f"module {name} ({module!r}) is not supported: BatchNorm1d needs affine=True, "
                              f"track_running_stats=True and a momentum")
        self.name, self.activation = name, activation
        self.eps, self.momentum = float(module.eps), float(module.momentum)
        self.arrays = {kind: _array(getattr(module, attribute), f"{name}.{attribute}") for kind, attribute in
                       (("gamma", "weight"), ("beta", "bias"), ("running_mean", "running_mean"),
                        ("running_var", "running_var"))}


def _specs_from_module(nn, module) -> list:
    if isinstance(module, nn.Sequential):
        children = list(_flatten(nn, module, ""))
    elif isinstance(module, nn.Linear):
        children = [("0", module)]
    else:
        raise ConfigError(
            f"from_torch expects a torch.nn.Sequential (or a state_dict), received {type(module).__name__}; "
            "for a custom module pass module.state_dict() with activations=[...]"
        )
    specs = []
    for name, child in children:
        if isinstance(child, nn.Identity):
            continue
        if type(child) is nn.Linear:
            bias = None if child.bias is None else _array(child.bias, f"{name}.bias")
            specs.append(_LinearSpec(name, _array(child.weight, f"{name}.weight"), bias))
        elif type(child) is nn.Dropout:
            specs.append(Dropout(float(child.p)))
        elif type(child) is nn.BatchNorm1d:
            specs.append(_NormSpec(name, child))
        else:
            activation = _activation_from_module(nn, child, name)
            previous = specs[-1] if specs else None
            if not isinstance(previous, (_LinearSpec, _NormSpec)) or previous.activation is not None:
                raise ConfigError(
                    f"module {name} ({child!r}) must directly follow a Linear or BatchNorm1d layer: each may be "
                    "followed by one activation, and dropout must come after it"
                )
            previous.activation = activation
    return specs


def _flatten(nn, module, prefix: str):
    """Yield ``(name, module)`` for the leaves of nested ``Sequential`` containers, named as in ``state_dict``."""
    for name, child in module.named_children():
        full = f"{prefix}{name}"
        if isinstance(child, nn.Sequential):
            yield from _flatten(nn, child, f"{full}.")
        else:
            yield full, child


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


def _activation_from_module(nn, module, name: str) -> Activation | str:
    kind = type(module)
    if kind is _torch_exp_module():
        return "exp"
    plain = {nn.ReLU: "relu", nn.SELU: "selu", nn.SiLU: "silu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}
    if kind in plain:
        return plain[kind]
    if kind is nn.LeakyReLU:
        return LeakyReLU(float(module.negative_slope))
    if kind is nn.ELU:
        return ELU(alpha=float(module.alpha))
    if kind is nn.GELU and module.approximate == "none":
        return "gelu"
    if kind is nn.Softplus and module.beta == 1:
        return "softplus"
    if kind is nn.Softmax and module.dim in (None, 1, -1):
        return "softmax"
    raise ConfigError(f"module {name} ({module!r}) is not supported; supported modules: {_SUPPORTED_MODULES}")


def _specs_from_state_dict(state_dict: Mapping, activations: Sequence | None) -> list:
    groups: dict[str, dict] = {}
    for key, value in state_dict.items():
        prefix, _, leaf = str(key).rpartition(".")
        if leaf not in ("weight", "bias"):
            raise ConfigError(
                f"state_dict entry {key!r} is not a Linear weight or bias; "
                "only state_dicts of Linear layers (keys '<name>.weight', '<name>.bias') can be imported"
            )
        groups.setdefault(prefix, {})[leaf] = _array(value, str(key))
    specs = []
    for prefix, entries in groups.items():
        name = f"{prefix}." if prefix else ""
        if "weight" not in entries:
            raise ConfigError(f"state_dict has {name}bias but no {name}weight")
        specs.append(_LinearSpec(prefix, entries["weight"], entries.get("bias")))
    if not specs:
        raise ConfigError("the state_dict is empty; expected '<name>.weight' and '<name>.bias' entries")
    if activations is None:
        activations = ["relu"] * (len(specs) - 1) + ["identity"]
    if isinstance(activations, (str, Activation)) or not isinstance(activations, Sequence):
        raise ConfigError(f"activations must be a list with one entry per Linear layer, received {activations!r}")
    if len(activations) != len(specs):
        raise ConfigError(
            f"activations must have one entry per Linear layer ({len(specs)}), received {len(activations)}"
        )
    for spec, activation in zip(specs, activations):
        spec.activation = get_activation(activation)
    return specs


def _array(value, key: str) -> np.ndarray:
    """A float32/float64 NumPy copy of a tensor or array; other float types are widened to float32."""
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        if str(value.dtype) not in ("torch.float32", "torch.float64"):
            value = value.float()
        value = value.numpy()
    try:
        array = np.array(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a numeric tensor or array, received {type(value).__name__}") from None
    if array.dtype.kind not in "biuf":
        raise ConfigError(f"{key} must be numeric, received dtype {array.dtype}")
    if array.dtype not in (np.float32, np.float64):
        array = array.astype(np.float32)
    check_finite(array, key)
    return array


def _build_network(specs: list, loss, input_dim, dtype, seed) -> Network:
    linears = [spec for spec in specs if isinstance(spec, _LinearSpec)]
    if not linears:
        raise ConfigError(f"no Linear layer found; supported modules: {_SUPPORTED_MODULES}")
    previous = None
    for spec in linears:
        if spec.weight.ndim != 2:
            raise ConfigError(
                f"{spec.name}.weight must be 2-D (out_features, in_features) as in a Linear layer, "
                f"received shape {spec.weight.shape}"
            )
        n_out, n_in = spec.weight.shape
        if spec.bias is not None and spec.bias.shape != (n_out,):
            raise ShapeError(f"{spec.name}.bias must have shape ({n_out},), received {spec.bias.shape}")
        if previous is not None and n_in != previous.weight.shape[0]:
            raise ShapeError(
                f"{spec.name}.weight expects {n_in} inputs but the layer before it ({previous.name}) "
                f"has {previous.weight.shape[0]} outputs"
            )
        previous = spec
    n_0 = linears[0].weight.shape[1]
    if input_dim is not None and input_dim != n_0:
        raise ShapeError(f"input_dim is {input_dim!r} but the first Linear layer has {n_0} in_features")
    if dtype is None:
        dtype = "float64" if any(_has_float64(spec) for spec in linears) else "float32"
    layers = [_layer(spec) for spec in specs]
    try:
        net = Network(layers, loss=loss, input_dim=n_0, seed=seed, dtype=dtype)
    except ShapeError as exc:
        raise ShapeError(f"the modules' sizes do not chain: {exc}") from None
    for layer, spec in zip(layers, specs):
        if isinstance(spec, _LinearSpec):
            layer.W[...] = spec.weight
            layer.b[...] = 0 if spec.bias is None else spec.bias
        elif isinstance(spec, _NormSpec):
            for kind, value in spec.arrays.items():
                if value.shape != getattr(layer, kind).shape:
                    raise ShapeError(f"{spec.name} normalises {value.shape[0]} features but the layer before it "
                                     f"has {getattr(layer, kind).shape[0]} outputs")
                getattr(layer, kind)[...] = value
    return net


def _layer(spec):
    """The layerwise layer of one spec (a Dropout is its own spec)."""
    if isinstance(spec, _LinearSpec):
        return Dense(spec.weight.shape[0], activation=spec.activation or "identity")
    if isinstance(spec, _NormSpec):
        return BatchNorm(momentum=spec.momentum, eps=spec.eps, activation=spec.activation or "identity")
    return spec


_IMAGE_MODULES = ("Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "BatchNorm2d")


def _image_network(torch, children: list, input_shape, loss, dtype, seed) -> Network:
    """A network of image layers (and Dense, Dropout) from the leaves of a ``Sequential``, weights copied."""
    from ..layers import AvgPool2D, Conv2D, Flatten, MaxPool2D

    nn = torch.nn
    if input_shape is None:
        raise ConfigError("from_torch needs input_shape=(C, H, W) for a Sequential with Conv2d or pooling modules")
    entries = []  # [layer, module or None, activation or None]
    for name, child in children:
        kind = type(child)
        if kind is nn.Identity:
            continue
        if kind is nn.Linear:
            entries.append([Dense, child, None])
        elif kind is nn.Conv2d:
            if child.groups != 1 or tuple(child.dilation) != (1, 1) or child.padding_mode != "zeros" \
                    or child.stride[0] != child.stride[1]:
                raise ConfigError(f"module {name} ({child!r}) is not supported: Conv2d needs groups=1, dilation=1, "
                                  "zero padding and the same stride along both axes")
            entries.append([Conv2D, child, None])
        elif kind in (nn.MaxPool2d, nn.AvgPool2d):
            entries.append([_pool_layer(child, name, MaxPool2D if kind is nn.MaxPool2d else AvgPool2D), None, None])
        elif kind is nn.Flatten:
            if child.start_dim != 1 or child.end_dim != -1:
                raise ConfigError(f"module {name} ({child!r}) is not supported: Flatten must flatten dims 1 to -1")
            entries.append([Flatten(), None, None])
        elif kind in (nn.BatchNorm1d, nn.BatchNorm2d):
            if not child.affine or not child.track_running_stats or child.momentum is None:
                raise ConfigError(f"module {name} ({child!r}) is not supported: BatchNorm needs affine=True, "
                                  "track_running_stats=True and a momentum")
            entries.append([BatchNorm, child, None])
        elif kind is nn.Dropout:
            entries.append([Dropout(float(child.p)), None, None])
        else:
            previous = entries[-1] if entries else None
            if previous is None or previous[1] is None or previous[2] is not None:
                raise ConfigError(f"module {name} ({child!r}) must directly follow a Linear, Conv2d or BatchNorm "
                                  "module, once")
            previous[2] = _activation_from_module(nn, child, name)
    params = [p for _, module, _ in entries if module is not None for p in module.parameters()]
    if dtype is None:
        dtype = "float64" if any(p.dtype == torch.float64 for p in params) else "float32"
    layers = []
    for maker, module, activation in entries:
        activation = activation or "identity"
        if maker is Dense:
            layers.append(Dense(module.out_features, activation=activation))
        elif maker is Conv2D:
            padding = module.padding if isinstance(module.padding, str) else tuple(module.padding)
            layers.append(Conv2D(module.out_channels, tuple(module.kernel_size), stride=module.stride[0],
                                 padding=padding, activation=activation))
        elif maker is BatchNorm:
            layers.append(BatchNorm(momentum=float(module.momentum), eps=float(module.eps), activation=activation))
        else:
            layers.append(maker)
    net = Network(layers, loss=loss, input_shape=tuple(input_shape), seed=seed, dtype=dtype)
    for layer, (_, module, _) in zip(net.layers, entries):
        if module is None:
            continue
        names = {"W": "weight", "b": "bias"} if not isinstance(layer, BatchNorm) else \
            {"gamma": "weight", "beta": "bias", "running_mean": "running_mean", "running_var": "running_var"}
        for kind, attribute in names.items():
            target, value = getattr(layer, kind), getattr(module, attribute)
            if value is None:  # a Linear or Conv2d without bias
                target[...] = 0
                continue
            value = _array(value, f"{type(module).__name__} {attribute}")
            if value.shape != target.shape:
                raise ShapeError(f"{type(module).__name__} {attribute} has shape {value.shape}, but layer {layer.l} "
                                 f"({layer.describe()}) needs {target.shape} for input_shape={tuple(input_shape)}")
            target[...] = value
    return net


def _pool_layer(module, name: str, kind):
    if module.padding not in (0, (0, 0)) or module.ceil_mode or getattr(module, "dilation", 1) not in (1, (1, 1)):
        raise ConfigError(f"module {name} ({module!r}) is not supported: pooling needs padding=0, dilation=1 "
                          "and ceil_mode=False")
    stride = module.stride if isinstance(module.stride, int) else module.stride[0]
    return kind(module.kernel_size if isinstance(module.kernel_size, int) else tuple(module.kernel_size),
                stride=stride)


def _has_float64(spec: _LinearSpec) -> bool:
    return spec.weight.dtype == np.float64 or (spec.bias is not None and spec.bias.dtype == np.float64)
