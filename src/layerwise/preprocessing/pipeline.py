"""The preprocessing of a model: input steps before the network, target steps around it."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..layers import Dense
from .registry import step_from_stored
from .steps import Step

TENSOR_PREFIX = "preprocessing."
"""Model-file tensors of the preprocessing are named ``preprocessing.<part>.<index>.<array>``."""

PARTS = ("inputs", "targets")


class Preprocessing:
    """Fitted steps that turn raw rows into network inputs, and network outputs back into raw targets.

    ``Network.predict_proba`` applies the ``inputs`` steps in order before the
    forward pass; ``Network.predict`` also applies the inverses of the
    ``targets`` steps, last first, to a regressor's output ``A<L>``.

    Parameters
    ----------
    inputs : list of Step, optional
        Raw feature rows -> the network's inputs ``A0``.
    targets : list of Step, optional
        Raw targets -> the targets the network was trained on.
    """

    def __init__(self, inputs: list[Step] | tuple = (), targets: list[Step] | tuple = ()):
        self.inputs, self.targets = tuple(inputs), tuple(targets)
        for part, steps in (("inputs", self.inputs), ("targets", self.targets)):
            for index, step in enumerate(steps):
                if not isinstance(step, Step):
                    raise ConfigError(f"preprocessing {part}[{index}] must be a preprocessing Step, "
                                      f"received {type(step).__name__}")
                if index and step.n_in != steps[index - 1].n_out:
                    raise ConfigError(f"preprocessing {part}[{index}] takes {step.n_in} column(s) but the step "
                                      f"before it returns {steps[index - 1].n_out}")

    def transform_inputs(self, X) -> np.ndarray:
        """Raw feature rows -> the network's inputs."""
        for step in self.inputs:
            X = step.transform(X)
        return X

    def transform_targets(self, Y) -> np.ndarray:
        """Raw targets -> the targets the network is trained on, shape ``(m, K)``."""
        Y = np.asarray(Y, dtype=np.float64).reshape(len(Y), -1)
        for step in self.targets:
            Y = step.transform(Y)
        return Y

    def inverse_targets(self, AL: np.ndarray) -> np.ndarray:
        """The network's outputs -> raw targets (float64)."""
        for step in reversed(self.targets):
            AL = step.inverse(AL)
        return AL

    def check(self, n_inputs: int, n_outputs: int) -> str | None:
        """Say why the steps do not fit a network of ``n_inputs`` inputs and ``n_outputs`` outputs, or None."""
        if self.inputs and self.inputs[-1].n_out != n_inputs:
            return (f"the input preprocessing returns {self.inputs[-1].n_out} column(s) but the network has "
                    f"{n_inputs} input(s)")
        for step in self.targets:
            if step.n_in != n_outputs or step.n_out != n_outputs:
                return f"the target preprocessing step {step.name!r} does not fit the network's {n_outputs} output(s)"
        return None

    @property
    def encoding(self) -> tuple[Step, ...]:
        """The leading input steps that are not affine (column selection, one-hot, imputation)."""
        count = next((i for i, step in enumerate(self.inputs) if step.affine() is not None), len(self.inputs))
        return self.inputs[:count]

    def encode(self, X) -> np.ndarray:
        """Raw rows -> the numeric matrix the :attr:`encoding` steps give: what an exported network takes."""
        for step in self.encoding:
            X = step.transform(X)
        return np.asarray(X, dtype=np.float64)

    def encoded_names(self, names: list[str] | None = None) -> list[str]:
        """Names of the columns :meth:`encode` returns (``x0, x1, ...`` stand in for unnamed inputs)."""
        names = list(names) if names else [f"x{k}" for k in range(self.n_features or 0)]
        for step in self.encoding:
            names = step.output_names(names)
        return names

    @property
    def n_features(self) -> int | None:
        """Number of raw feature columns (None when there are no input steps)."""
        return self.inputs[0].n_in if self.inputs else None

    # ----------------------------------------------------------- stored form
    def to_stored(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The JSON description and the tensors that a model file stores."""
        document, tensors = {}, {}
        for part in PARTS:
            entries = []
            for index, step in enumerate(getattr(self, part)):
                names = {}
                for key, array in step.arrays().items():
                    names[key] = f"{TENSOR_PREFIX}{part}.{index}.{key}"
                    tensors[names[key]] = np.ascontiguousarray(array, dtype=np.float64)
                entries.append({"type": step.name, "config": step.get_config(), "arrays": names})
            document[part] = entries
        return document, tensors

    @classmethod
    def from_stored(cls, document: dict, tensors: dict[str, np.ndarray]) -> Preprocessing:
        """Rebuild from :meth:`to_stored` output.

        Raises
        ------
        ConfigError
            If the description is malformed or names a missing tensor.
        """
        if not isinstance(document, dict):
            raise ConfigError(f"the preprocessing entry must be a JSON object, received {type(document).__name__}")
        parts = {}
        for part in PARTS:
            entries = document.get(part, [])
            if not isinstance(entries, list):
                raise ConfigError(f"preprocessing {part} must be a list of steps")
            steps = []
            for entry in entries:
                if not isinstance(entry, dict) or not isinstance(entry.get("arrays", {}), dict):
                    raise ConfigError(f"each preprocessing {part} step must be a JSON object with 'type', "
                                      f"'config' and 'arrays', received {entry!r}")
                arrays = {}
                for key, name in entry.get("arrays", {}).items():
                    if name not in tensors:
                        raise ConfigError(f"the preprocessing step {entry.get('type')!r} names the tensor "
                                          f"{name!r}, which the file does not hold")
                    arrays[key] = tensors[name]
                steps.append(step_from_stored({**entry.get("config", {}), "type": entry.get("type")}, arrays))
            parts[part] = steps
        return cls(**parts)

    def __repr__(self) -> str:
        return f"Preprocessing(inputs={list(self.inputs)!r}, targets={list(self.targets)!r})"


def fold(net):
    """A copy of ``net`` with its affine preprocessing steps folded into the first and last layers.

    An input step ``x * s + t`` becomes ``W1 := W1 diag(s)``, ``b1 := b1 + W1 t``;
    a target step, inverted (``a -> (a - t) / s``), becomes ``W_L := W_L / s``,
    ``b_L := (b_L - t) / s`` for an identity Dense output layer. The copy computes on raw
    rows what ``net.predict_proba`` (inputs) and ``net.predict`` (targets) give.
    The table encoding steps (:attr:`Preprocessing.encoding`), which are not
    affine, stay as the copy's preprocessing (None when there are none): its
    layers take the encoded matrix :meth:`Preprocessing.encode` returns.
    The affine input steps fold only into a first Dense layer: in front of a
    convolution, which pads its input with zeros, a shift of the inputs is
    not a shift of the bias, so the copy keeps them too and the exporter
    applies them as one affine map (:func:`input_affine`) before the first
    layer.

    Raises
    ------
    ConfigError
        If a step after the encoding is not affine, or target steps meet an output activation other than the
        identity.
    """
    twin = net.copy()
    twin.preprocessing = None
    steps = net.preprocessing
    if steps is None:
        return twin
    encoding = steps.encoding
    if encoding:
        twin.preprocessing = Preprocessing(inputs=encoding)
    first, last = twin.layers[0], twin.output
    affine = steps.inputs[len(encoding):]
    if isinstance(first, Dense):
        W, b = first.W.astype(np.float64), first.b.astype(np.float64)
        for step in reversed(affine):  # A0 = step_k(...step_1(x)), so the last step folds in first
            scale, shift = _affine(step, "input")
            W, b = W * scale, b + W @ shift
        first.W[...], first.b[...] = W, b
    elif affine:
        twin.preprocessing = Preprocessing(inputs=steps.inputs)
        input_affine(twin.preprocessing)  # refuses steps that are not affine
    if not steps.targets:
        return twin
    if not isinstance(last, Dense) or last.activation.name != "identity":
        raise ConfigError(f"target preprocessing folds only into an identity Dense output layer, this network's "
                          f"output layer is {last!r}")
    W, b = last.W.astype(np.float64), last.b.astype(np.float64)
    for step in reversed(steps.targets):  # y_net = step_k(...step_1(y)): undo the last step first
        scale, shift = _affine(step, "target")
        W, b = W / scale[:, None], (b - shift) / scale
    last.W[...], last.b[...] = W, b
    return twin


def input_affine(steps: Preprocessing) -> tuple[np.ndarray, np.ndarray] | None:
    """``(scale, shift)``: the input steps after the encoding composed, ``x * scale + shift``; None if there are none.

    ``x`` is the encoded matrix (:meth:`Preprocessing.encode`), the raw rows when there is no encoding.

    Raises
    ------
    ConfigError
        If a step after the encoding is not affine.
    """
    affine = steps.inputs[len(steps.encoding):]
    if not affine:
        return None
    scale, shift = np.ones(affine[0].n_in), np.zeros(affine[0].n_in)
    for step in affine:  # (x * s1 + t1) * s2 + t2 = x * (s1 s2) + (t1 s2 + t2)
        s, t = _affine(step, "input")
        scale, shift = scale * s, shift * s + t
    return scale, shift


def _affine(step: Step, part: str) -> tuple[np.ndarray, np.ndarray]:
    affine = step.affine()
    if affine is None:
        raise ConfigError(f"the {part} preprocessing step {step.name!r} is not affine, so it cannot be folded into "
                          f"the network's weights for export")
    return affine
