"""The ``layerwise`` command: train, evaluate, predict, info, gradcheck, explain, export, diagnose.

Each sub-command is one ``cmd_*`` function. Bad input of any kind (arguments,
files, data) ends with one line on stderr, ``layerwise: error: ... (see
'layerwise COMMAND --help')``, and exit status 2; ``--debug`` shows the
traceback as well.

Modules: ``parser`` (the options), ``console`` (the program name and progress
notes), ``model`` (a network with its saved scalers), ``data`` (loading and
splitting data sets), ``metrics``, ``train`` (the train command and its run
directory), ``use`` (evaluate, predict), ``info`` and ``tools`` (gradcheck, explain,
export, diagnose).
"""

from __future__ import annotations

import os
import sys

from ..errors import LayerwiseError
from .console import PROG
from .parser import build_parser, command_in, handler

__all__ = ["main"]


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, LayerwiseError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _print_traceback() -> None:
    import traceback  # only for --debug: it costs the start-up of every command

    traceback.print_exc()


def main(argv: list[str] | None = None) -> int:
    """Run the ``layerwise`` command; return its exit status."""
    parser = build_parser(command_in(sys.argv[1:] if argv is None else argv))
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        parser.commands.get(args.command, parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command is None:
        parser.print_help()
        return 0
    hint = f" (see '{PROG} {args.command} --help')"  # as the parser's own errors end
    try:
        return handler(args.command)(args) or 0
    except BrokenPipeError:  # the reader of our output went away (``layerwise predict ... | head``)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (LayerwiseError, OSError) as exc:
        if getattr(args, "debug", False):
            _print_traceback()
        print(f"{PROG}: error: {_message(exc)}{hint}", file=sys.stderr)
        return 2
    except MemoryError as exc:  # an allocation beyond the guards' estimates (ResourceError is caught above)
        if getattr(args, "debug", False):
            _print_traceback()
        print(f"{PROG}: error: out of memory: {_message(exc)}; use a smaller network, data set or batch, or a "
              f"machine with more memory{hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
