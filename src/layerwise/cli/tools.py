"""Commands for looking inside: gradcheck, explain, export and diagnose."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from ..layers import Dense
from . import config as cfg
from .data import evaluation_data
from .layer_specs import ARCHITECTURES, parse_layers
from .metrics import summary_line
from .model import Model, build_network, default_output_activation, describe, load_model
from .train import thread_limit, train_options, train_run, warn_at_chance


def random_network(args, dtype: str = "float64"):
    """A network from --hidden (or --layers, --arch, --input-shape)/--activation/--output-activation/--loss/
    --inputs/--outputs/--seed."""
    hidden = args.hidden if args.hidden is not None else cfg.hidden_sizes(args.default_hidden)
    loss = args.loss or "cross_entropy"
    output = args.output_activation or default_output_activation(loss)
    layers = args.layers
    if args.arch is not None:
        layers = parse_layers(ARCHITECTURES[args.arch])
    n_inputs = args.inputs if args.input_shape is None else math.prod(args.input_shape)
    return build_network(hidden, args.activation or "relu", output, args.outputs, loss, n_inputs, args.seed, dtype,
                         layers=layers, input_shape=args.input_shape)


def random_batch(net, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal inputs and targets that suit the network's loss."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, net.input_dim))
    K = net.n_outputs
    if not net.is_classifier:
        return X, rng.standard_normal((m, K))
    if net.loss_fn.n_classes(K) == K:  # one class per output: a label per example
        return X, rng.integers(0, K, size=m)
    return X, rng.integers(0, 2, size=(m, K)).astype(np.float64)  # a 0/1 flag per output


def cmd_gradcheck(args) -> int:
    """``layerwise gradcheck``: exit status 0 when backpropagation matches finite differences, 1 otherwise."""
    from ..inspect.gradcheck import gradcheck

    net = random_network(args)
    X, Y = random_batch(net, args.batch, args.seed)
    for layer in net.layers:  # nonzero biases: no pre-activation sits exactly on a kink such as ReLU's 0
        if getattr(layer, "b", None) is not None:
            layer.b[...] = np.random.default_rng(args.seed + layer.l).uniform(-0.5, 0.5, layer.b.shape)
    report = gradcheck(net, X, Y, tolerance=args.tolerance)
    print(f"gradient check of {describe(net)}, loss {net.loss_fn.name}, m = {args.batch}, float64")
    print(report)
    return 0 if report.ok else 1


def _explain_batch(model: Model, source: str, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``m`` random rows of labelled data, prepared as the model expects them."""
    X, y, description = evaluation_data(model, source, None, "all")
    rows = np.random.default_rng(seed).choice(X.shape[0], size=min(m, X.shape[0]), replace=False)
    X, y = model.inputs(X[rows], description), y[rows]
    if model.task == "classification" and model.net.loss_fn.n_classes(model.net.n_outputs) == 2:
        return X, y.astype(np.float64)
    if model.targets is not None:
        y = model.training_targets(y.reshape(len(rows), -1))
    return X, y


def cmd_explain(args) -> int:
    """``layerwise explain``: the forward and backward equations with live shapes; --run adds gradient norms."""
    from ..inspect.explain import explain, format_gradient_norms, gradient_norms

    given = [name for name in ("hidden", "activation", "output_activation", "loss") if getattr(args, name)]
    if args.model and given:
        raise ConfigError(f"give a MODEL or a network (--{given[0].replace('_', '-')}), not both")
    if args.data and not args.model:
        raise ConfigError("--data needs a MODEL whose inputs it matches")
    model = load_model(args.model) if args.model else None
    net = model.net if model else random_network(args)
    print(explain(net, args.batch))
    if args.run:
        if args.data:
            X, Y = _explain_batch(model, args.data, args.batch, args.seed)
        else:
            X, Y = random_batch(net, args.batch, args.seed)
        print()
        print(format_gradient_norms(*gradient_norms(net, X, Y)))
    return 0


def cmd_export(args) -> int:
    """``layerwise export``: an ONNX file that takes raw features (the scalers are folded in)."""
    from ..interop.export import to_onnx

    model = load_model(args.model)
    onnx_model = to_onnx(model.net, args.onnx)
    into_graph = not isinstance(model.net.layers[0], Dense)  # a convolution cannot absorb the input scaler
    folded = [what for what, scaler in (("the input scaler into layer 1" if not into_graph else
                                         "the input scaler as the graph's first nodes", model.features),
                                        (f"the target scaler into layer {model.net.output.l}", model.targets))
              if scaler]
    folded = f", with {' and '.join(folded)} folded in" if folded else ""
    steps = model.net.preprocessing
    if steps is not None and steps.encoding:  # a table: the graph takes its columns and encodes them
        inputs = json.loads(next(p.value for p in onnx_model.metadata_props if p.key == "layerwise.inputs"))
        described = [f"{name} (batch, {len(columns)}): {', '.join(columns)}{note}"
                     for (name, columns), note in zip(inputs.items(), (" (NaN where missing)", ' ("" where missing)'))
                     if columns]
        print(f"wrote {args.onnx}: inputs {'; '.join(described)} -> output Y (batch, {model.net.n_outputs}){folded}")
        return 0
    shape = ", ".join(map(str, model.net.input_shape))
    print(f"wrote {args.onnx}: input X (batch, {shape}) -> output Y (batch, {model.net.n_outputs}){folded}")
    return 0


def cmd_diagnose(args) -> int:
    """``layerwise diagnose``: the gradient-health table of a run directory, or of a fresh short training."""
    if args.run_dir is None:
        return _diagnose_fresh(args)
    from ..inspect.diagnostics import GradientMonitor

    run_dir = Path(args.run_dir)
    path = run_dir / "diagnostics.json" if run_dir.is_dir() else run_dir
    try:
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    except FileNotFoundError:
        raise DataError(f"{path} does not exist; train with 'layerwise train --diagnose' to record diagnostics"
                        ) from None
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    try:
        monitor = GradientMonitor.from_dict(document)
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path} is not a diagnostics file: {type(exc).__name__}: {exc}") from None
    print(monitor.table())
    for warning in monitor.warnings:
        print(f"warning: {warning}")
    monitor.plot(path.parent / "diagnostics.png")
    print(f"wrote {path.parent / 'diagnostics.png'}")
    return 0


def _diagnose_fresh(args) -> int:
    opts = train_options(args, epochs=5)
    opts.diagnose = True
    with thread_limit(opts.threads):
        _, metrics, run_dir, monitor = train_run(opts)
    print(monitor.table())
    print(f"{summary_line(metrics)}; wrote {run_dir}")
    warn_at_chance(metrics)
    return 0
