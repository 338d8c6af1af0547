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
from dataclasses import dataclass, field

import numpy as np

from ..ops.losses import FUSED

SHORTCUT_REASONS = {
    ("softmax", "cross_entropy"): (
        "dJ/dA_L = -Y / A_L, and the softmax Jacobian turns it into A_L - Y because each row of Y sums to one"),
    ("sigmoid", "binary_cross_entropy"): (
        "dJ/dA_L = (A_L - Y) / (A_L (1 - A_L)) and sigmoid'(Z_L) = A_L (1 - A_L) cancel"),
    ("identity", "mse"): "J = (1/2m) sum (A_L - Y)^2 gives dJ/dA_L = A_L - Y, and identity'(Z_L) = 1",
}


@dataclass(frozen=True)
class Term:
    """One array in an equation: its name, the shape of the array, and whether it appears transposed."""

    name: str
    shape: tuple[int, ...]
    transposed: bool = False

    def __str__(self) -> str:
        shown = self.shape[::-1] if self.transposed else self.shape
        return f"{self.name}{'^T' if self.transposed else ''} {shown}"


@dataclass(frozen=True)
class Equation:
    """``lhs = template`` with the template's ``{0}``, ``{1}``, ... filled by ``terms``."""

    layer: int
    lhs: Term
    template: str
    terms: tuple[Term, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        return f"{self.lhs} = {self.template.format(*self.terms)}"


def _widths(net) -> list[int]:
    return [net.input_dim] + [layer.units for layer in net.dense]


def forward_equations(net, m: int) -> list[Equation]:
    """``Z[l] = A[l-1] . W[l]^T + b[l]`` and ``A[l] = g(Z[l])`` for l = 1..L, with shapes for a batch of ``m``."""
    n = _widths(net)
    equations = []
    if 0 in net.dropouts:
        X, D = Term("X", (m, n[0])), Term("D0", (m, n[0]))
        equations.append(Equation(0, Term("A0", (m, n[0])), "{0} * {1}", (X, D)))
    for l, layer in enumerate(net.dense, start=1):
        Z, A_prev = Term(f"Z{l}", (m, n[l])), Term(f"A{l - 1}", (m, n[l - 1]))
        W, b = Term(f"W{l}", (n[l], n[l - 1]), transposed=True), Term(f"b{l}", (n[l],))
        equations.append(Equation(l, Z, "{0} . {1} + {2}", (A_prev, W, b)))
        g = layer.activation.name
        if l in net.dropouts:
            equations.append(Equation(l, Term(f"A{l}", (m, n[l])), g + "({0}) * {1}", (Z, Term(f"D{l}", (m, n[l])))))
        else:
            equations.append(Equation(l, Term(f"A{l}", (m, n[l])), g + "({0})", (Z,)))
    return equations


def output_rule(net) -> str:
    """Which rule gives ``dZ_L`` for this network's output activation and loss, and why."""
    pair = (net.dense[-1].activation.name, net.loss_fn.name)
    L = net.L
    if pair in FUSED:
        return (f"{pair[0]} + {pair[1]} is a fused pair, so the output shortcut dZ{L} = A{L} - Y applies: "
                f"{SHORTCUT_REASONS[pair]}.")
    fused = ", ".join(f"{a}+{b}" for a, b in sorted(FUSED))
    text = (f"{pair[0]} + {pair[1]} is not a fused pair ({fused}), so dA{L} comes from the loss's derivative "
            f"and dZ{L} = dA{L} * g'(Z{L}), the general rule.")
    if pair[0] == "softmax":
        text += (f" Softmax mixes the units of a row, so g'(Z{L}) is a Jacobian: dZ{L} = A{L} * (dA{L} - "
                 f"rowsum(dA{L} * A{L})), its product with dA{L}.")
    return text


def backward_equations(net, m: int) -> list[Equation]:
    """The seed's four equations for each layer from L down to 1, with shapes for a batch of ``m``.

    Per layer ``l``: ``dZ[l]`` (from ``dA[l]``, or the output rule), ``dW[l]``,
    ``db[l]`` and ``dA[l-1]`` (not for ``l = 1``: ``A0`` is the input).
    """
    n, L = _widths(net), net.L
    equations = []
    for l in range(L, 0, -1):
        layer = net.dense[l - 1]
        g = layer.activation.name
        dZ, dA = Term(f"dZ{l}", (m, n[l])), Term(f"dA{l}", (m, n[l]))
        Z, A = Term(f"Z{l}", (m, n[l])), Term(f"A{l}", (m, n[l]))
        if l == L and net.fused:
            equations.append(Equation(l, dZ, "{0} - {1}", (A, Term("Y", (m, n[l])))))
        else:
            if l == L:
                equations.append(Equation(l, dA, net.loss_fn.name + "'({0}, {1})", (A, Term("Y", (m, n[l])))))
            upstream, terms = "{0}", [dA]
            if l in net.dropouts:
                upstream, terms = "({0} * {1})", [dA, Term(f"D{l}", (m, n[l]))]
            k = len(terms)
            if g == "softmax":
                template = f"{{{k}}} * ({upstream} - rowsum({upstream} * {{{k}}}))"
                terms.append(A)
            else:
                template = f"{upstream} * {g}'({{{k}}})"
                terms.append(Z)
            equations.append(Equation(l, dZ, template, tuple(terms)))
        A_prev = Term(f"A{l - 1}", (m, n[l - 1]))
        W = Term(f"W{l}", (n[l], n[l - 1]))
        dW = Term(f"dW{l}", (n[l], n[l - 1]))
        l2 = " + (lambda/m) {2}" if net.l2 else ""
        equations.append(Equation(l, dW, "(1/m) {0} . {1}" + l2, (Term(dZ.name, dZ.shape, True), A_prev, W)))
        equations.append(Equation(l, Term(f"db{l}", (n[l],)), "(1/m) sum_i {0}", (dZ,)))
        if l > 1:
            equations.append(Equation(l, Term(f"dA{l - 1}", (m, n[l - 1])), "{0} . {1}", (dZ, W)))
    return equations


def _describe(net) -> str:
    parts = [str(net.input_dim)]
    for layer in net.layers:
        if hasattr(layer, "units"):
            parts.append(f"{layer.units} ({layer.activation.name})")
        else:
            parts.append(f"dropout {layer.rate:g}")
    return " -> ".join(parts)


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
    if net.dropouts:
        lines.append("  (D<l>: dropout masks, drawn in training only; kept units are scaled by 1/(1 - rate))")
    layer = None
    for equation in forward_equations(net, m):
        if equation.layer != layer:
            layer = equation.layer
            lines.append(f"  layer {layer}:" if layer else "  input:")
        lines.append(f"    {equation}")
    out = (m, net.dense[-1].units)
    lines.append(f"  J = {net.loss_fn.name}({Term(f'A{net.L}', out)}, {Term('Y', out)}): the mean over the m examples"
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
        Per layer from L down to 1: ``layer`` and the Frobenius norms ``dW``,
        ``db``, ``dZ`` and ``dA`` (of ``dA[l]``; for a fused output it is
        computed from the loss for display, since the shortcut skips it).
    """
    AL, cache = net.forward(X)
    grads = net.backward(cache, Y)
    J = net.loss(AL, Y)
    rows = []
    for l in range(net.L, 0, -1):
        dA = grads.get(f"dA{l}")
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
