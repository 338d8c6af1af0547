"""ONNX export: a network (with its saved preprocessing) as an ONNX inference graph."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from .._version import __version__
from ..engine.network import Network
from ..errors import ConfigError
from ..io.model_file import write_atomically
from ..ops.activations import Activation
from ..preprocessing import fold, input_affine
from .dependencies import _check_network, _import_onnx
from .onnx_encoding import encoding_nodes

DEFAULT_OPSET = 17
"""ONNX opset written by default: widely supported (onnxruntime 1.12 and later)."""

MIN_OPSET = 13
"""Oldest opset :func:`to_onnx` writes: the first with today's ``Softmax(axis)`` semantics."""

GELU_OPSET = 20
"""First opset with a ``Gelu`` operator; older opsets get GELU built from ``Erf``."""

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
