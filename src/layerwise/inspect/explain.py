"""The seed's equations for a given network, with the live shape of every term.

The seed's advice is to sanity-check the dimensions of every matrix in the
backward pass. :func:`explain` does it for any network: the forward pass,
which output rule applies and why, and the four backward equations of each
layer from ``L`` down to 1, e.g.::

    dW2 (10, 64) = (1/m) dZ2^T (10, 32) . A1 (32, 64)

Rows are examples here, so the seed's ``dZ . A_prev^T`` (columns as
examples) reads ``dZ^T . A_prev``. :func:`gradient_norms` runs one real
forward and backward pass and reports the size of every gradient.
"""

from __future__ import annotations

import textwrap

import numpy as np

from ..layers.equations import Equation, Term
from ..ops.losses import SHORTCUTS

__all__ = ["Equation", "Term", "backward_equations", "explain", "forward_equations", "gradient_norms",
           "output_rule"]

SHORTCUT_REASONS = {
    ("softmax", "cross_entropy"): (
        "dJ/dA_L = -Y / A_L, and the softmax Jacobian turns it into A_L - Y because each row of Y sums to one"),
    ("sigmoid", "binary_cross_entropy"): (
        "dJ/dA_L = (A_L - Y) / (A_L (1 - A_L)) and sigmoid'(Z_L) = A_L (1 - A_L) cancel"),
    ("identity", "mse"): "J = (1/2m) sum (A_L - Y)^2 gives dJ/dA_L = A_L - Y, and identity'(Z_L) = 1",
}


def forward_equations(net, m: int) -> list[Equation]:
    """Every layer's forward equations, first to last, with shapes for a batch of ``m``."""
    return [equation for layer in net.layers for equation in layer.explain_forward(m)]


def output_rule(net) -> str:
    """Which rule gives ``dZ_L`` for this network's output activation and loss, and why."""
    pair = (net.output.activation.name, net.loss_fn.name)
    L = net.L
    if net.shortcut:
        return (f"{pair[0]} + {pair[1]} is a shortcut pair, so the output shortcut dZ{L} = A{L} - Y applies: "
                f"{SHORTCUT_REASONS[pair]}.")
    pairs = ", ".join(f"{a}+{b}" for a, b in sorted(SHORTCUTS))
    text = (f"{pair[0]} + {pair[1]} is not a shortcut pair ({pairs}), so dA{L} comes from the loss's derivative "
            f"and dZ{L} = dA{L} * g'(Z{L}), the general rule.")
    if pair[0] == "softmax":
        text += (f" Softmax mixes the units of a row, so g'(Z{L}) is a Jacobian: dZ{L} = A{L} * (dA{L} - "
                 f"rowsum(dA{L} * A{L})), its product with dA{L}.")
    return text


def backward_equations(net, m: int) -> list[Equation]:
    """The backward equations of every trained layer from the output down, with shapes for a batch of ``m``.

    Per Dense layer ``l``, the seed's four: ``dZ[l]`` (from ``dA[l]``, or the
    output rule), ``dW[l]``, ``db[l]`` and ``dA[l-1]`` (not for the first
    trained layer: ``A0`` is the input). On the general output path the
    first equation is ``dA_L``, from the loss.
    """
    output = net.output
    equations = []
    if not net.shortcut:
        A, Y = output.term(output.output_key, m), output.term("Y", m)
        equations.append(Equation(output.l, output.term("d" + output.output_key, m),
                                  net.loss_fn.name + "'({0}, {1})", (A, Y)))
    equations += output.explain_backward(m, net.shortcut, bool(net.l2))
    for layer in net._below_output:
        equations += layer.explain_backward(m, False, bool(net.l2))
    return equations


def _describe(net) -> str:
    return " -> ".join([str(net.input_dim)] + [layer.describe() for layer in net.layers])


def explain(net, m: int = 32) -> str:
    """The forward pass, the output rule and the backward pass of ``net`` with every shape for a batch of ``m``.

    Parameters
    ----------
    net : Network
        A built network.
    m : int, default 32
        Number of examples in the batch.

    Returns
    -------
    str
        Multi-line text.
    """
    net._require_built()
    lines = [
        f"Network {_describe(net)}, loss {net.loss_fn.name}, batch of m = {m} examples",
        "Rows are examples: the column-per-example form Z = W.A + b reads Z = A . W^T + b here, and",
        "dW = (1/m) dZ . A^T reads dW = (1/m) dZ^T . A; W[l] keeps its usual shape (n_l, n_{l-1}).",
        "",
        "Forward pass",
    ]
    if any(layer.explain_forward(m) and not layer.numbered for layer in net.layers):
        lines.append("  (D<l>: dropout masks, drawn in training only; kept units are scaled by 1/(1 - rate))")
    layer = None
    for equation in forward_equations(net, m):
        if equation.layer != layer:
            layer = equation.layer
            lines.append(f"  layer {layer}:" if layer else "  input:")
        lines.append(f"    {equation}")
    out = (m, net.n_outputs)
    lines.append(f"  J = {net.loss_fn.name}({Term(net.output.output_key, out)}, {Term('Y', out)}): the mean over the m "
                 f"examples"
                 + (" plus (lambda/2m) sum_l ||W[l]||^2" if net.l2 else ""))
    rule = textwrap.fill(output_rule(net), width=110, initial_indent="  ", subsequent_indent="  ")
    lines += ["", "Output rule", rule, "", f"Backward pass, layer {net.L} down to 1"]
    layer = None
    for equation in backward_equations(net, m):
        if equation.layer != layer:
            layer = equation.layer
            lines.append(f"  layer {layer}:")
        lines.append(f"    {equation}")
    lines.append("    (dA0 is not computed: A0 is the input)")
    return "\n".join(lines)


def gradient_norms(net, X, Y) -> tuple[float, list[dict]]:
    """Run one forward and backward pass and measure every gradient.

    Parameters
    ----------
    net : Network
    X : array-like of shape (m, n_0)
    Y : array-like
        Targets, as for :meth:`Network.backward`.

    Returns
    -------
    J : float
        The cost of the batch.
    rows : list of dict
        Per layer with weights and biases (Dense), from the output down:
        ``layer`` and the Frobenius norms ``dW``, ``db``, ``dZ`` and ``dA`` (of
        ``dA[l]``; for a shortcut output it is computed from the loss for
        display, since the shortcut skips it).
    """
    AL, cache = net.forward(X)
    grads = net.backward(cache, Y)
    J = net.loss(AL, Y)
    rows = []
    for layer in [net.output, *net._below_output]:
        if [spec.kind for spec in layer.params()] != ["W", "b"]:
            continue
        l = layer.l
        dA = grads.get("d" + layer.output_key)
        if dA is None:
            dA = net.loss_fn.grad(AL, net.check_Y(Y, AL.shape[0]))
        rows.append({"layer": l, **{key: float(np.linalg.norm(value)) for key, value in
                                    (("dW", grads[f"dW{l}"]), ("db", grads[f"db{l}"]), ("dZ", grads[f"dZ{l}"]),
                                     ("dA", dA))}})
    return float(J), rows


def format_gradient_norms(J: float, rows: list[dict]) -> str:
    """A table of :func:`gradient_norms` output."""
    lines = [f"One forward and backward pass: J = {J:.6g}",
             f"  {'layer':>5} {'||dW||':>12} {'||db||':>12} {'||dZ||':>12} {'||dA||':>12}"]
    for row in rows:
        lines.append(f"  {row['layer']:>5} {row['dW']:>12.4e} {row['db']:>12.4e} {row['dZ']:>12.4e} "
                     f"{row['dA']:>12.4e}")
    lines.append("  (||dZ||, ||dA|| are per-example derivatives, m dJ/dZ and m dJ/dA; dW, db are dJ/dW, dJ/db)")
    return "\n".join(lines)
