"""``layerwise info``: a saved model's layers, shapes and parameter counts.

Its own module, importing only the model file's reader, so that it answers quickly.
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Model


def _import_numpy_with_one_blas_thread() -> None:
    """Import NumPy with ``OPENBLAS_NUM_THREADS=1`` (then restore the variable): info does no linear algebra, and
    starting OpenBLAS's pool of threads is a good part of NumPy's start-up on a busy machine."""
    if "numpy" in sys.modules:
        return
    saved = os.environ.get("OPENBLAS_NUM_THREADS")
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        import numpy  # noqa: F401
    finally:
        if saved is None:
            del os.environ["OPENBLAS_NUM_THREADS"]
        else:
            os.environ["OPENBLAS_NUM_THREADS"] = saved


def model_description(model: Model) -> dict:
    """Layers, shapes and counts of a saved model, JSON-compatible."""
    net, layers = model.net, []
    for layer in net.layers:
        shapes = {spec.kind: list(spec.shape) for spec in layer.params()}
        layers.append({"layer": layer.l if layer.numbered else None, "type": layer.label(),
                       "output": list(layer.output_shape), "W": shapes.get("W"), "b": shapes.get("b"),
                       "parameters": sum(math.prod(shape) for shape in shapes.values()),
                       "activation": None if layer.activation is None else layer.activation.name,
                       "tensors": {f"{kind}{layer.l}": shape for kind, shape in shapes.items()}})
    return {"file": str(model.path), "format_version": model.format_version,
            "library_version": model.library_version, "loss": net.loss_fn.name, "dtype": net.dtype.name,
            "inputs": net.input_dim, "input_shape": list(net.input_shape), "outputs": net.n_outputs,
            "layers": layers,
            "parameters": int(net.n_params), "bytes": int(net.n_params * net.dtype.itemsize),
            "classes": None if net.classes is None else list(net.classes),
            "standardized_inputs": model.features is not None, "standardized_targets": model.targets is not None,
            "columns": model.columns, "encoding": model.encoding_note(),
            "trained_on": model.info.get("data", {}).get("source"), "test_metrics": model.info.get("test_metrics")}


def _shape(value) -> str:
    return "-" if value is None else str(tuple(value))


def cmd_info(args) -> int:
    """``layerwise info``: a table of the layers and the totals."""
    _import_numpy_with_one_blas_thread()
    from .model import load_model

    description = model_description(load_model(args.model))
    if args.json:
        print(json.dumps(description, indent=1))
        return 0
    lines = [f"{'layer':<6} {'type':<13} {'output':<13} {'W':<14} {'b':<9} {'activation':<11} {'parameters':>10}"]
    for row in description["layers"]:
        lines.append(f"{row['layer'] or '':<6} {row['type']:<13} {_shape(row['output']):<13} {_shape(row['W']):<14} "
                     f"{_shape(row['b']):<9} {row['activation'] or '-':<11} {row['parameters']:>10,}")
    classes = description["classes"]
    lines += [f"total parameters: {description['parameters']:,} ({description['bytes']:,} bytes, "
              f"{description['dtype']})",
              f"inputs: {' x '.join(map(str, description['input_shape']))}  outputs: {description['outputs']}  "
              f"loss: {description['loss']}",
              f"classes: {'none (regression)' if classes is None else ', '.join(map(str, classes))}",
              f"standardized inputs: {'yes' if description['standardized_inputs'] else 'no'}"
              f"  standardized targets: {'yes' if description['standardized_targets'] else 'no'}",
              f"file format version: {description['format_version']} (written by layerwise "
              f"{description['library_version']})"]
    if description["columns"]:
        lines.append(f"columns (matched by name): {', '.join(description['columns'])}")
    if description["encoding"]:
        lines.append(description["encoding"])
    if description["trained_on"]:
        metrics = description["test_metrics"] or {}
        result = "  ".join(f"{key} {value:.4g}" for key, value in metrics.items() if key != "examples")
        lines.append(f"trained on: {description['trained_on']}  {result}".rstrip())
    print("\n".join(lines))
    return 0
