"""The argument parser: one sub-parser per command; the commands with many options are in :mod:`.options`."""

from __future__ import annotations

import argparse
import importlib

from .._version import __version__
from .console import PROG

HANDLERS = {"train": "train", "evaluate": "use", "predict": "use", "info": "info", "gradcheck": "tools",
            "explain": "tools", "export": "tools", "diagnose": "tools"}
"""The module holding each command's ``cmd_<command>`` function, imported only when that command runs
(so that ``--help`` loads neither NumPy nor the training code)."""


def handler(command: str):
    """The function that runs ``command``."""
    return getattr(importlib.import_module(f".{HANDLERS[command]}", __package__), f"cmd_{command}")


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line starting ``layerwise: error:``."""

    def error(self, message: str):
        self.exit(2, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def add_command(commands, name: str, summary: str, examples: str, common: Parser) -> Parser:
    """Add the sub-parser of ``name`` to ``commands``, with its summary, examples and the ``common`` options."""
    return commands.add_parser(name, help=summary, description=summary, parents=[common],
                               epilog="examples:\n" + examples, formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser(command: str | None = None) -> Parser:
    """The argument parser of the ``layerwise`` command.

    With ``command`` (a sub-command's name) only that sub-command is added, so that a command starts without
    building the options of the seven others; its arguments, help and errors are the same as in the full parser.
    """
    parser = Parser(prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
                    description="Train, inspect and use feedforward neural networks trained by backpropagation.",
                    epilog="start with:\n  layerwise train          train on the bundled digits and save a run\n"
                           "  layerwise COMMAND --help for the options of a command")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    common = Parser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of an error")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    parser.commands = commands.choices  # the sub-parsers by name, whose errors point at their own --help
    for name in [command] if command in _COMMANDS else _COMMANDS:
        add = _COMMANDS[name] or getattr(importlib.import_module(".options", __package__), f"add_{name}")
        add(commands, common)
    return parser


def command_in(argv: list[str]) -> str | None:
    """The sub-command ``argv`` runs: its first word not starting with ``-`` (no top-level option takes a value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def _predict(commands, common: Parser) -> None:
    predict = add_command(commands, "predict", "Predict with a saved model; CSV out.",
                          "  layerwise predict model.safetensors new.csv\n"
                          "  layerwise predict model.safetensors inputs.npy --proba --output predictions.csv\n"
                          "  cat new.csv | layerwise predict model.safetensors -", common)
    predict.add_argument("model", metavar="MODEL", help="a model.safetensors file")
    predict.add_argument("input", metavar="INPUT",
                         help="features: a .csv, .parquet, .npz or .npy file, or - for CSV on stdin; columns are "
                              "matched to the training columns by name when both have names")
    predict.add_argument("--output", "-o", metavar="FILE", help="write the CSV here (default: standard output)")
    predict.add_argument("--proba", action="store_true", help="add the class probabilities (classifiers)")


def _info(commands, common: Parser) -> None:
    info = add_command(commands, "info", "Show a model's layers, shapes and parameter counts, and check the file's "
                       "digest.",
                       "  layerwise info runs/iris/model.safetensors", common)
    info.add_argument("model", metavar="MODEL", help="a model.safetensors file")
    info.add_argument("--json", action="store_true", help="print the description as JSON")


def _export(commands, common: Parser) -> None:
    export = add_command(commands, "export", "Export a saved model to ONNX.",
                         "  layerwise export runs/iris/model.safetensors --onnx iris.onnx", common)
    export.add_argument("model", metavar="MODEL", help="a model.safetensors file")
    export.add_argument("--onnx", metavar="FILE", required=True, help="the ONNX file to write")


_COMMANDS = {"train": None, "evaluate": None, "predict": _predict, "info": _info, "gradcheck": None, "explain": None,
             "export": _export, "diagnose": None}
"""Each sub-command, in the order ``--help`` lists them, and the function adding its parser (None: ``add_<name>``
of :mod:`.options`)."""
