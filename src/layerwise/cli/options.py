"""The sub-commands with many options (train, diagnose, evaluate, gradcheck, explain) and their shared option groups.

Apart from :mod:`.parser` so that a command with few options (``info``, ``predict``, ``export``) starts without
building these, nor importing the option checks of :mod:`.config` and :mod:`.layer_specs`.
"""

from __future__ import annotations

import argparse

from . import config as cfg
from . import layer_specs as specs
from .parser import Parser, add_command


def _default(key: str) -> str:
    value = getattr(cfg.TrainOptions(), key)
    if isinstance(value, tuple):
        value = ",".join(map(str, value))
    return f" (default: {value})"


def _add_architecture_options(parser: Parser, random_hidden: str | None = None) -> None:
    """--hidden, --activation, --output-activation, --loss; ``random_hidden``: a random network's default widths."""
    if random_hidden is None:
        hidden, activation = _default("hidden"), _default("activation")
        loss = " (default: cross_entropy for classification, mse for regression)"
    else:
        hidden, activation, loss = f" (default: {random_hidden})", " (default: relu)", " (default: cross_entropy)"
    group = parser.add_argument_group("network")
    group.add_argument("--hidden", type=cfg.hidden_sizes, metavar="N,N,...",
                       help="hidden layer widths, e.g. 128,64; '' for none" + hidden)
    group.add_argument("--layers", type=cfg.layer_list, metavar="SPEC",
                       help="the hidden layers of any kind, in place of --hidden: " + specs.GRAMMAR_HELP)
    group.add_argument("--arch", type=specs.arch_name, metavar="NAME",
                       help="a ready architecture in place of --hidden: " +
                            "; ".join(f"{name} = \"{spec}\"" for name, spec in specs.ARCHITECTURES.items()))
    group.add_argument("--input-shape", type=specs.input_shape, metavar="CxHxW",
                       help="shape of one example for convolutional layers, e.g. 3x32x32 (default: 1x8x8 for "
                            "digits, 1x28x28 for mnist and fashion-mnist); rows of C*H*W values are reshaped")
    group.add_argument("--activation", type=cfg.activation_name, metavar="NAME",
                       help=f"hidden activation: {', '.join(cfg.activation_name.names)}" + activation)
    group.add_argument("--output-activation", type=cfg.activation_name, metavar="NAME",
                       help="output activation (default: softmax for cross_entropy, sigmoid for "
                            "binary_cross_entropy, identity otherwise)")
    group.add_argument("--loss", type=cfg.loss_name, metavar="NAME", help=f"{', '.join(cfg.loss_name.names)}" + loss)


def _add_data_options(parser: Parser, show_default: bool = True):
    group = parser.add_argument_group("data")
    group.add_argument("--data", type=cfg.text, metavar="SOURCE",
                       help="digits, iris, wine, breast_cancer, diabetes, mnist, fashion-mnist, a "
                            ".csv/.parquet/.npz/.npy file (text columns are one-hot encoded, missing numbers "
                            "imputed), or a Parquet folder" + (_default("data") if show_default else ""))
    group.add_argument("--target", type=cfg.text, metavar="COLUMN",
                       help="target column of a CSV/Parquet/NPY file, by name or index (default: the last)")
    group.add_argument("--timeout", type=cfg.positive_float, metavar="SECONDS",
                       help="seconds each mnist / fashion-mnist file may take to download (default: 60)")
    return group


def _add_training_options(parser: Parser) -> None:
    """Every option of ``train`` (also used by ``diagnose``); all default to None (= not given)."""
    parser.add_argument("--config", metavar="FILE", help="TOML file of options; the command line overrides it")
    data = _add_data_options(parser)
    data.add_argument("--task", type=cfg.task_name, metavar="TASK",
                      help="auto, classification or regression" + _default("task"))
    data.add_argument("--test-split", type=cfg.fraction, metavar="F",
                      help="fraction held out as the test set, stratified for classification; 0 for none; "
                           "mnist and fashion-mnist use their official test set" + _default("test_split"))
    data.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=None,
                      help="scale features (and regression targets) to mean 0, variance 1 on the training set; "
                           "the scaler is saved with the model (default: on)")
    _add_architecture_options(parser)
    group = parser.add_argument_group("training")
    group.add_argument("--epochs", type=cfg.positive_int, metavar="N",
                       help="the most epochs; early stopping usually ends sooner" + _default("epochs"))
    group.add_argument("--batch-size", type=cfg.positive_int, metavar="N", help="batch size" + _default("batch_size"))
    group.add_argument("--optimizer", type=cfg.optimizer_name, metavar="NAME",
                       help=f"{', '.join(cfg.optimizer_name.names)}" + _default("optimizer"))
    group.add_argument("--lr", type=cfg.positive_float, metavar="RATE",
                       help="learning rate (default: the optimizer's, 0.001 for adam)")
    group.add_argument("--schedule", type=cfg.schedule_name, metavar="NAME",
                       help=f"learning-rate schedule: {', '.join(cfg.schedule_name.names)}" + _default("schedule"))
    group.add_argument("--momentum", type=cfg.fraction, metavar="BETA",
                       help="momentum of sgd and rmsprop (default: 0; 0.9 for the momentum and nesterov optimizers)")
    group.add_argument("--nesterov", action="store_true", default=None,
                       help="Nesterov momentum for sgd (momentum 0.9 unless --momentum is given)")
    group.add_argument("--beta1", type=cfg.fraction, metavar="B", help="Adam's first-moment decay (default: 0.9)")
    group.add_argument("--beta2", type=cfg.fraction, metavar="B", help="Adam's second-moment decay (default: 0.999)")
    group.add_argument("--weight-decay", type=cfg.non_negative_float, metavar="LAMBDA",
                       help="the optimizer's weight decay (default: 0; 0.01 for adamw)")
    group.add_argument("--step-size", type=cfg.positive_int, metavar="N",
                       help="step schedule: epochs between decays (default: 10)")
    group.add_argument("--gamma", type=cfg.positive_float, metavar="G",
                       help="step/exponential schedule: decay factor; plateau: reduction factor (default: 0.1 for "
                            "step and plateau, 0.95 for exponential)")
    group.add_argument("--warmup", type=cfg.non_negative_int, metavar="N",
                       help="cosine schedule: epochs of linear warm-up (default: 0)")
    group.add_argument("--min-lr", type=cfg.non_negative_float, metavar="RATE",
                       help="cosine and plateau schedules: the lowest learning rate (default: 0)")
    group.add_argument("--l2", type=cfg.non_negative_float, metavar="LAMBDA", help="L2 penalty" + _default("l2"))
    group.add_argument("--dropout", type=cfg.fraction, metavar="RATE",
                       help="dropout rate after each hidden layer" + _default("dropout"))
    group.add_argument("--clip-norm", type=cfg.positive_float, metavar="NORM", help="clip the gradient norm")
    group.add_argument("--early-stopping", action=argparse.BooleanOptionalAction, default=None,
                       help="stop when the validation loss has not improved by --min-delta for --patience epochs "
                            "and keep the best weights (default: on; chosen from benchmarks/DEFAULTS.md)")
    group.add_argument("--patience", type=cfg.non_negative_int, metavar="N",
                       help="epochs without improvement before early stopping" + _default("patience"))
    group.add_argument("--min-delta", type=cfg.non_negative_float, metavar="D",
                       help="smallest decrease of the validation loss that counts as an improvement"
                            + _default("min_delta"))
    group.add_argument("--val-split", type=cfg.fraction, metavar="F",
                       help="fraction of the training set held out for validation (default: 0.2 with "
                            "early stopping, else 0)")
    group.add_argument("--seed", type=cfg.seed_value, metavar="N",
                       help="seed of the split, the initialisation and the shuffling" + _default("seed"))
    group.add_argument("--dtype", type=cfg.dtype_name, metavar="TYPE", help="float32 or float64" + _default("dtype"))
    group.add_argument("--threads", type=cfg.positive_int, metavar="N",
                       help="limit the BLAS threads (needs threadpoolctl)")
    group.add_argument("--resume", type=cfg.text, metavar="CHECKPOINT",
                       help="continue from a checkpoint.safetensors written by an earlier run")
    output = parser.add_argument_group("output")
    output.add_argument("--out", type=cfg.text, metavar="DIR", help="run directory (default: runs/<timestamp>)")
    output.add_argument("--quiet", action="store_true", default=None, help="print only the final result")
    output.add_argument("--diagnose", action=argparse.BooleanOptionalAction, default=None,
                        help="watch per-layer gradient health; writes diagnostics.json and diagnostics.png")
    output.add_argument("--tensorboard", type=cfg.text, metavar="DIR",
                        help="also log the gradient diagnostics to TensorBoard in DIR (implies --diagnose)")
    output.add_argument("--mlflow", action=argparse.BooleanOptionalAction, default=None,
                        help="log the options, each epoch's metrics and the run's files to MLflow "
                             '(needs pip install "layerwise[mlflow]")')
    output.add_argument("--mlflow-uri", type=cfg.text, metavar="URI",
                        help="MLflow tracking store, e.g. file:///home/me/mlruns or http://host:5000; implies "
                             "--mlflow (default: $MLFLOW_TRACKING_URI, else MLflow's default)")
    output.add_argument("--mlflow-experiment", type=cfg.text, metavar="NAME",
                        help="MLflow experiment of the run" + _default("mlflow_experiment"))


def _add_random_network_options(parser: Parser, hidden: str) -> None:
    _add_architecture_options(parser, random_hidden=hidden)
    group = parser.add_argument_group("random network")
    group.add_argument("--inputs", type=cfg.positive_int, default=4, metavar="N",
                       help="input features n_0 (default: 4)")
    group.add_argument("--outputs", type=cfg.positive_int, default=3, metavar="N",
                       help="output units n_L (default: 3)")
    group.add_argument("--seed", type=cfg.seed_value, default=0, metavar="N", help="random seed (default: 0)")
    parser.set_defaults(default_hidden=hidden)


def add_train(commands, common: Parser) -> None:
    train = add_command(commands, "train", "Train a network and save it with its history and curves.",
                        "  layerwise train\n  layerwise train --data iris --hidden 16 --out runs/iris\n"
                        "  layerwise train --data houses.csv --target price --task regression --early-stopping\n"
                        "  layerwise train --config experiment.toml --lr 0.01\n"
                        "  layerwise train --data mnist --arch lenet5 --epochs 5\n"
                        "  layerwise train --layers \"conv:16x3x3,relu,same; maxpool:2; conv:32x3x3,relu,same; "
                        "maxpool:2; flatten; dense:64,relu\"\n"
                        "  layerwise train --data pictures.npz --input-shape 3x32x32 --layers \"conv:8x5x5; "
                        "avgpool:2; dropout:0.25\"", common)
    _add_training_options(train)


def add_evaluate(commands, common: Parser) -> None:
    evaluate = add_command(commands, "evaluate", "Measure a saved model on labelled data.",
                           "  layerwise evaluate runs/iris/model.safetensors --split test\n"
                           "  layerwise evaluate model.safetensors --data test.csv --target label --json", common)
    evaluate.add_argument("model", metavar="MODEL", help="a model.safetensors file")
    _add_data_options(evaluate, show_default=False)
    evaluate.add_argument("--split", choices=("all", "train", "test"), default=None,
                          help="evaluate on all of the data, or on the training or test part of the model's own "
                               "split (same data, same seed) (default: test when the model records a held-out "
                               "test split and no --data is given, else all)")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.add_argument("--plot", metavar="PNG",
                          help="confusion-matrix figure of a classifier, predicted-versus-true figure of a regression "
                               "(default: confusion.png or predicted.png beside the model)")
    evaluate.add_argument("--no-plot", action="store_true", help="do not draw the figure")


def add_gradcheck(commands, common: Parser) -> None:
    gradcheck = add_command(commands, "gradcheck", "Check backpropagation against finite differences (float64).",
                            "  layerwise gradcheck\n  layerwise gradcheck --hidden 8,8 --activation tanh --loss mse",
                            common)
    _add_random_network_options(gradcheck, hidden="5,4")
    gradcheck.add_argument("--batch", type=cfg.positive_int, default=8, metavar="M",
                           help="examples in the batch (default: 8)")
    gradcheck.add_argument("--tolerance", type=cfg.positive_float, default=1e-6, metavar="TOL",
                           help="largest relative error accepted (default: 1e-6)")


def add_explain(commands, common: Parser) -> None:
    explain = add_command(commands, "explain", "Print the backpropagation equations with the shape of every term.",
                          "  layerwise explain --hidden 64,32 --inputs 64 --outputs 10\n"
                          "  layerwise explain runs/iris/model.safetensors --batch 16 --run", common)
    explain.add_argument("model", metavar="MODEL", nargs="?", help="a model.safetensors file (or use --hidden)")
    _add_random_network_options(explain, hidden="64,32")
    explain.add_argument("--batch", type=cfg.positive_int, default=32, metavar="M",
                         help="examples in the batch, m (default: 32)")
    explain.add_argument("--run", action="store_true",
                         help="run one forward and backward pass and print the norm of each gradient")
    explain.add_argument("--data", type=cfg.text, metavar="SOURCE",
                         help="with --run and a MODEL: take the batch from this data (default: random)")


def add_diagnose(commands, common: Parser) -> None:
    diagnose = add_command(commands, "diagnose", "Report per-layer gradient health, of a run or of a short training.",
                           "  layerwise diagnose runs/20260101-120000\n"
                           "  layerwise diagnose --data iris --hidden 32,32,32 --activation sigmoid --epochs 5", common)
    diagnose.add_argument("run_dir", metavar="RUN_DIR", nargs="?",
                          help="a run directory written by 'train --diagnose' (or train afresh with the options)")
    _add_training_options(diagnose)
