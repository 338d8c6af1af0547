"""``layerwise info``: a saved model's layers, shapes and parameter counts.

A model file records the summary this command shows
(:func:`layerwise.io.summary.summary`), so ``info`` reads the file's header
alone, with no NumPy, and checks the file as it goes: the header's structure
and tensor table (:mod:`layerwise.io.safetensors_header`), the document
(:mod:`layerwise.io.model_document`) and its training information, the summary
against the tensor table and against the digest of the config and
preprocessing it was made from, and the SHA-256 digest of every tensor's
bytes. A file that records no summary (one written by layerwise 0.1.0), or
whose summary does not fit its tensors or its document (an edited file), is
loaded as a whole, with all of the loader's checks, and described from the
network.
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Model

_SHAPE, _NAMES, _NONE = "shape", "names", type(None)
_SUMMARY = {"loss": (str,), "dtype": (str,), "inputs": (int,), "input_shape": (_SHAPE,), "outputs": (int,),
            "layers": (list,), "parameters": (int,), "bytes": (int,), "classes": (list, _NONE),
            "standardized_inputs": (bool,), "standardized_targets": (bool,), "columns": (_NAMES, _NONE),
            "encoding": (str, _NONE), "describes": (str,)}
_LAYER = {"layer": (int, _NONE), "type": (str,), "output": (_SHAPE,), "W": (_SHAPE, _NONE), "b": (_SHAPE, _NONE),
          "parameters": (int,), "activation": (str, _NONE), "tensors": (dict,)}


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


def description(path, format_version: int, library_version: str, summary: dict, info: dict) -> dict:
    """What ``info --json`` prints: the file, its versions, the network's summary and what it was trained on."""
    return {"file": str(path), "format_version": format_version, "library_version": library_version, **summary,
            "trained_on": info.get("data", {}).get("source"), "test_metrics": info.get("test_metrics")}


def model_description(model: Model) -> dict:
    """The description of a loaded model, from its network."""
    from ..io.summary import summary

    return description(model.path, model.format_version, model.library_version, summary(model.net), model.info)


def recorded_description(path) -> dict | None:
    """The description a model file records, once the file is checked (see the module notes); None when the file
    records none, or one that does not match its tensors."""
    from ..io.model_document import DIGEST_KEY, check_digest, parse_document
    from ..io.safetensors_header import file_digest, open_model_file, read_header
    from ..io.summary import described
    from .model import META_KEY, check_info

    stream, size = open_model_file(path)
    with stream:
        header = read_header(path, stream, size)
        document = parse_document(path, header)
        info = document["extra"].get(META_KEY, {})
        check_info(path, info)
        summary, recorded = document.get("summary"), document.get(DIGEST_KEY)
        if recorded is None or not _matches(summary, header) or summary["describes"] != described(document):
            return None
        check_digest(path, file_digest(path, stream, header), recorded)
    summary = {key: value for key, value in summary.items() if key != "describes"}
    return description(path, document["format_version"], document["library_version"], summary, info)


def _matches(summary, header) -> bool:
    """Whether ``summary`` has the fields and types ``info`` prints, and names the file's tensors as they are."""
    if not (_fits(summary, _SUMMARY) and all(_fits(layer, _LAYER) for layer in summary["layers"])):
        return False
    counted = 0
    for layer in summary["layers"]:
        entries = [header.tensors.get(name) for name in layer["tensors"]]
        if not all(entry is not None and list(entry.shape) == shape and entry.dtype_name == summary["dtype"]
                   for entry, shape in zip(entries, layer["tensors"].values())):
            return False
        if layer["parameters"] != sum(math.prod(entry.shape) for entry in entries):
            return False
        counted += layer["parameters"]
    return counted == summary["parameters"]


def _fits(value, fields: dict) -> bool:
    return isinstance(value, dict) and value.keys() == fields.keys() and all(
        any(_is(value[key], kind) for kind in kinds) for key, kinds in fields.items())


def _is(value, kind) -> bool:
    if kind is _SHAPE:
        return isinstance(value, list) and all(_is(n, int) and n >= 0 for n in value)
    if kind is _NAMES:
        return isinstance(value, list) and all(isinstance(name, str) for name in value)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _shape(value) -> str:
    return "-" if value is None else str(tuple(value))


def cmd_info(args) -> int:
    """``layerwise info``: a table of the layers and the totals."""
    description = recorded_description(args.model)
    if description is None:
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
