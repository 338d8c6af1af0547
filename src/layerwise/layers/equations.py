"""The seed's equations as data: terms with live shapes, for :func:`layerwise.inspect.explain`.

Each layer writes its own forward and backward equations with these
(:meth:`Layer.explain_forward`, :meth:`Layer.explain_backward`), so that
``explain`` prints any network without knowing which kinds of layer exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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


def first_equation(l: int, activation, dZ: Term, dA: Term, Z: Term, A: Term, Y: Term | None) -> Equation:
    """The seed's first backward equation ``dZ = dA * g'(Z)`` (softmax: its Jacobian applied to ``dA``),
    or, with ``Y``, the output shortcut ``dZ_L = A_L - Y``."""
    if Y is not None:
        return Equation(l, dZ, "{0} - {1}", (A, Y))
    g = activation.name
    if g == "softmax":
        return Equation(l, dZ, "{1} * ({0} - rowsum({0} * {1}))", (dA, A))
    return Equation(l, dZ, "{0} * " + g + "'({1})", (dA, Z))
