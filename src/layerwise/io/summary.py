"""The summary a model file records of its network, for readers that do not build it (``layerwise info``).

:func:`summary` is what ``info`` shows of a network: each layer's type, output
shape, parameter shapes, count and activation, the totals, the class labels,
and what the preprocessing does (standardisation, the columns taken by name,
the encoding of text and missing values). :func:`layerwise.io.save` stores it
in the file's document with :func:`described`, the digest of the config and
preprocessing it was made from, so that ``info`` answers from the header
alone and can tell when the document no longer describes the same network;
the command line's model reads the same facts from the loaded network through
the helpers below.
"""

from __future__ import annotations

import hashlib
import json
import math


def input_standardization(steps):
    """The standardisation among the input steps of ``steps`` (a Preprocessing or None), or None."""
    inputs = steps.inputs if steps is not None else ()
    return next((step for step in inputs if step.name == "standardize"), None)


def column_names(steps) -> list[str] | None:
    """The training columns' names when ``steps`` select the inputs by name, else None."""
    first = steps.inputs[0] if steps is not None and steps.inputs else None
    return list(first.names) if first is not None and first.name == "columns" else None


def encoding_note(steps) -> str | None:
    """``encoded 5 columns into 9 inputs: one-hot city (3 categories); missing values imputed ... in age``."""
    if steps is None or not any(step.name in ("one_hot", "impute") for step in steps.encoding):
        return None
    names = column_names(steps) or [f"column {k}" for k in range(steps.n_features)]
    parts = []
    for step in steps.encoding:
        if step.name == "one_hot":
            parts.append("one-hot " + ", ".join(f"{names[k]} ({len(values)} categories)"
                                                for k, values in zip(step.columns, step.categories)))
        elif step.name == "impute" and step.indicators:
            parts.append("missing values imputed (median, with an indicator column) in " +
                         ", ".join(names[j] for j in step.indicators))
        names = step.output_names(names)
    return (f"encoded {steps.n_features} column(s) into {steps.encoding[-1].n_out} inputs: "
            f"{'; '.join(parts) or 'numbers only, none missing'}")


def summary(net) -> dict:
    """The layers, shapes, counts, classes and preprocessing of the built network ``net``, JSON-compatible."""
    layers = []
    for layer in net.layers:
        shapes = {spec.kind: list(spec.shape) for spec in layer.params()}
        layers.append({"layer": layer.l if layer.numbered else None, "type": layer.label(),
                       "output": list(layer.output_shape), "W": shapes.get("W"), "b": shapes.get("b"),
                       "parameters": sum(math.prod(shape) for shape in shapes.values()),
                       "activation": None if layer.activation is None else layer.activation.name,
                       "tensors": {f"{kind}{layer.l}": shape for kind, shape in shapes.items()}})
    steps = net.preprocessing
    return {"loss": net.loss_fn.name, "dtype": net.dtype.name, "inputs": net.input_dim,
            "input_shape": list(net.input_shape), "outputs": net.n_outputs, "layers": layers,
            "parameters": int(net.n_params), "bytes": int(net.n_params * net.dtype.itemsize),
            "classes": None if net.classes is None else list(net.classes),
            "standardized_inputs": input_standardization(steps) is not None,
            "standardized_targets": steps is not None and bool(steps.targets),
            "columns": column_names(steps), "encoding": encoding_note(steps)}


def described(document: dict, default=None) -> str:
    """The SHA-256 hex digest of the ``config`` and ``preprocessing`` of a model file's ``document``, as JSON with
    sorted keys: what the summary beside them was made from. ``default`` is ``json.dumps``'s, for a document
    that still holds NumPy scalars (the one being saved)."""
    made_from = {"config": document["config"], "preprocessing": document.get("preprocessing")}
    return hashlib.sha256(json.dumps(made_from, sort_keys=True, default=default).encode()).hexdigest()
