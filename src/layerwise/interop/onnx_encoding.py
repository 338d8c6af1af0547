"""The table encoding of a model as ONNX nodes: median imputation with indicators, one-hot text.

A model trained on a table (:mod:`layerwise.preprocessing.encoders`) exports
to a graph with up to two inputs, in the training column order:

* ``"X"``, shape ``(batch, k)`` in the network's dtype: the numeric columns,
  NaN where a value is missing. ``IsNaN`` and ``Where`` put in the training
  medians, ``Gather`` and ``Cast`` give the missing-indicator columns, so
  the imputation is exact in float32 and float64 alike;
* ``"X_text"``, shape ``(batch, t)``, strings: the text columns, ``""`` where
  a value is missing. Each goes through ``ai.onnx.ml`` ``OneHotEncoder``
  (``cats_strings`` = the training categories, the missing one as ``""``;
  ``zeros=1``, so an unseen category is all zeros, as in ``predict``).

The metadata key ``"layerwise.inputs"`` names the columns of each input
(JSON ``{"X": [...], "X_text": [...]}``).
"""

from __future__ import annotations

import json

import numpy as np

from ..errors import ConfigError

ML_DOMAIN = "ai.onnx.ml"
ML_OPSET = 3


def encoding_nodes(graph, steps) -> str:
    """Add the graph inputs and the nodes of ``steps.encoding`` to ``graph``; return the encoded tensor's name."""
    onnx = graph.onnx
    helper = onnx.helper
    encoding = {step.name: step for step in steps.encoding}
    n = steps.n_features
    names = list(encoding["columns"].names) if "columns" in encoding else [f"x{k}" for k in range(n)]
    one_hot, impute = encoding.get("one_hot"), encoding.get("impute")
    text = one_hot.columns if one_hot is not None else []
    numeric = [k for k in range(n) if k not in set(text)]
    inputs, parts = [], []
    if numeric:
        inputs.append(helper.make_tensor_value_info("X", graph.elem_type, ["batch", len(numeric)]))
        parts.append("X")
        if impute is not None:
            gap = graph.node("IsNaN", ["X"], "X_missing")
            parts[0] = graph.node("Where", [gap, graph.initializer("medians", impute.medians[None, :]), "X"],
                                  "X_imputed")
            if impute.indicators:
                index = _int64(graph, "indicator_columns", impute.indicators)
                chosen = graph.node("Gather", [gap, index], "X_indicators_bool", axis=1)
                parts.append(graph.node("Cast", [chosen], "X_indicators", to=graph.elem_type))
    if text:
        inputs.append(helper.make_tensor_value_info("X_text", onnx.TensorProto.STRING, ["batch", len(text)]))
        for i, (k, categories) in enumerate(zip(one_hot.columns, one_hot.categories)):
            strings = ["" if value is None else value for value in categories]
            if len(set(strings)) != len(strings):
                raise ConfigError(f"the text column {names[k]!r} has both an empty category and missing values, "
                                  "which ONNX cannot tell apart")
            column = graph.node("Gather", ["X_text", _int64(graph, f"text_column_{i}", i)], f"text_{i}", axis=1)
            hot = graph.node("OneHotEncoder", [column], f"text_{i}_one_hot", domain=ML_DOMAIN,
                             cats_strings=strings, zeros=1)
            parts.append(graph.node("Cast", [hot], f"text_{i}_encoded", to=graph.elem_type))
        graph.domains[ML_DOMAIN] = ML_OPSET
    graph.inputs = inputs
    graph.props["layerwise.inputs"] = json.dumps({"X": [names[k] for k in numeric], "X_text": [names[k] for k in text]})
    return parts[0] if len(parts) == 1 else graph.node("Concat", parts, "A0_encoded", axis=1)


def _int64(graph, name: str, value) -> str:
    graph.initializers[name] = graph.onnx.numpy_helper.from_array(np.asarray(value, dtype=np.int64), name=name)
    return name
