"""The ``--layers`` grammar, the ``[[layers]]`` table of a config file, and the ready architectures (``--arch``).

``--layers`` is a list of layers separated by ``;``; each is a kind, then ``:`` and its arguments
separated by ``,`` (the output Dense layer is added for the task, as with ``--hidden``)::

    conv:FxK[xK][,ACTIVATION][,same|valid|pad=N][,stride=N]   Conv2D(F, K), activation relu by default
    maxpool:P[,stride=N]      avgpool:P[,stride=N]            pooling windows P x P, stride P by default
    flatten                                                    (C, H, W) -> C*H*W
    dense:N[,ACTIVATION]                                       a hidden Dense layer, relu by default
    dropout:RATE              batchnorm[:ACTIVATION]

for example ``"conv:16x3x3,relu,same; maxpool:2; conv:32x3x3,relu,same; maxpool:2; flatten; dense:64,relu"``.
A config file says the same with one ``[[layers]]`` table per layer, whose keys are the arguments by
name: ``type = "conv"``, ``filters = 16``, ``kernel = 3`` (or ``[3, 3]``), ``activation``,
``padding`` (``"same"``, ``"valid"`` or a number), ``stride``; ``size`` and ``stride`` for pooling;
``units`` and ``activation`` for dense; ``rate`` for dropout; ``activation`` for batchnorm.
A flatten is added before the first dense layer when the grammar leaves it out.
"""

from __future__ import annotations

import argparse

from ..errors import ConfigError

ARCHITECTURES = {
    "lenet5": "conv:6x5x5,relu,pad=2; maxpool:2; conv:16x5x5,relu; maxpool:2; flatten; dense:120,relu; "
              "dense:84,relu",
    "digits-cnn": "conv:16x3x3,relu,same; maxpool:2; flatten",
}
"""Ready ``--arch`` architectures as ``--layers`` specifications (LeNet-5 as LeCun et al., 1998, with ReLU)."""

KINDS = ("conv", "maxpool", "avgpool", "flatten", "dense", "dropout", "batchnorm")

GRAMMAR_HELP = (
    "layers separated by ';': conv:FxK[xK][,ACT][,same|valid|pad=N][,stride=N]; maxpool:P[,stride=N]; "
    "avgpool:P[,stride=N]; flatten; dense:N[,ACT]; dropout:RATE; batchnorm[:ACT] (the output layer is "
    "added for the task), e.g. \"conv:16x3x3,relu,same; maxpool:2; flatten; dense:64,relu\""
)


def parse_layers(text: str) -> tuple[dict, ...]:
    """Parse the ``--layers`` grammar into layer descriptions (dicts with a ``type`` and named arguments).

    Raises
    ------
    argparse.ArgumentTypeError
        Naming the item that is wrong and what was expected.
    """
    items = [item.strip() for item in str(text).split(";") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"expected at least one layer, received {text!r}")
    specs = []
    for item in items:
        kind, _, rest = item.partition(":")
        kind = kind.strip().lower()
        args = [arg.strip() for arg in rest.split(",") if arg.strip()]
        try:
            specs.append(_from_words(kind, args))
        except (ValueError, ConfigError) as exc:
            raise argparse.ArgumentTypeError(f"layer {item!r}: {exc}") from None
    return tuple(specs)


def _from_words(kind: str, args: list[str]) -> dict:
    named = dict(arg.split("=", 1) for arg in args if "=" in arg)
    plain = [arg for arg in args if "=" not in arg]
    if kind == "conv":
        if not plain:
            raise ValueError("expected conv:FILTERSxKERNEL, e.g. conv:16x3x3")
        sizes = [int(part) for part in plain[0].lower().split("x")]
        if len(sizes) not in (2, 3):
            raise ValueError(f"expected FILTERSxK or FILTERSxKHxKW, received {plain[0]!r}")
        spec = {"type": "conv", "filters": sizes[0], "kernel": sizes[1:] if len(sizes) == 3 else sizes[1]}
        for word in plain[1:]:
            if word in ("same", "valid"):
                spec["padding"] = word
            else:
                spec["activation"] = _activation(word)
        if "pad" in named:
            spec["padding"] = int(named.pop("pad"))
        if "stride" in named:
            spec["stride"] = int(named.pop("stride"))
    elif kind in ("maxpool", "avgpool"):
        if len(plain) != 1:
            raise ValueError(f"expected {kind}:SIZE, e.g. {kind}:2")
        spec = {"type": kind, "size": int(plain[0])}
        if "stride" in named:
            spec["stride"] = int(named.pop("stride"))
    elif kind == "flatten":
        spec = {"type": "flatten"}
    elif kind == "dense":
        if not plain:
            raise ValueError("expected dense:UNITS[,ACTIVATION], e.g. dense:64,relu")
        spec = {"type": "dense", "units": int(plain[0])}
        if len(plain) > 1:
            spec["activation"] = _activation(plain[1])
    elif kind == "dropout":
        if len(plain) != 1:
            raise ValueError("expected dropout:RATE, e.g. dropout:0.25")
        spec = {"type": "dropout", "rate": float(plain[0])}
    elif kind == "batchnorm":
        spec = {"type": "batchnorm"}
        if plain:
            spec["activation"] = _activation(plain[0])
    else:
        raise ValueError(f"unknown layer kind {kind!r}; expected one of {', '.join(KINDS)}")
    if named:
        raise ValueError(f"unknown argument(s) {', '.join(sorted(named))}")
    return spec


def _activation(word: str) -> str:
    from ..ops.activations import ACTIVATIONS  # here, so that building the parser needs no NumPy

    if word not in ACTIVATIONS:
        raise ValueError(f"unknown activation or option {word!r}; activations: {', '.join(sorted(ACTIVATIONS))}")
    return word


TABLE_KEYS = {"conv": {"filters", "kernel", "activation", "padding", "stride"}, "maxpool": {"size", "stride"},
              "avgpool": {"size", "stride"}, "flatten": set(), "dense": {"units", "activation"},
              "dropout": {"rate"}, "batchnorm": {"activation"}}


def layers_from_tables(tables) -> tuple[dict, ...]:
    """Check the ``[[layers]]`` tables of a config file (one dict per layer) and return them as descriptions."""
    if not isinstance(tables, list) or not tables or not all(isinstance(table, dict) for table in tables):
        raise argparse.ArgumentTypeError("expected one or more [[layers]] tables, each with a type")
    specs = []
    for index, table in enumerate(tables, start=1):
        kind = str(table.get("type", "")).lower()
        if kind not in TABLE_KEYS:
            raise argparse.ArgumentTypeError(f"[[layers]] table {index}: type must be one of {', '.join(KINDS)}, "
                                             f"received {table.get('type')!r}")
        unknown = set(table) - TABLE_KEYS[kind] - {"type"}
        if unknown:
            expected = ", ".join(sorted(TABLE_KEYS[kind])) or "no other keys"
            raise argparse.ArgumentTypeError(f"[[layers]] table {index} ({kind}): unknown key(s) "
                                             f"{', '.join(sorted(unknown))}; expected {expected}")
        specs.append({**table, "type": kind})
    return tuple(specs)


def needs_images(specs) -> bool:
    """Whether the described layers include a convolution or a pooling (so the input must be images)."""
    return any(spec["type"] in ("conv", "maxpool", "avgpool") for spec in specs)


def build_layers(specs) -> list:
    """The layer objects of the descriptions, a Flatten added before the first Dense after images."""
    from .. import layers as lw_layers

    built, images = [], False
    for spec in specs:
        kind, args = spec["type"], {key: value for key, value in spec.items() if key != "type"}
        if kind == "conv":
            images = True
            built.append(lw_layers.Conv2D(args["filters"], args["kernel"], stride=args.get("stride", 1),
                                          padding=args.get("padding", 0), activation=args.get("activation", "relu")))
        elif kind in ("maxpool", "avgpool"):
            images = True
            pool = lw_layers.MaxPool2D if kind == "maxpool" else lw_layers.AvgPool2D
            built.append(pool(args["size"], stride=args.get("stride")))
        elif kind == "flatten":
            images = False
            built.append(lw_layers.Flatten())
        elif kind == "dense":
            if images:
                built.append(lw_layers.Flatten())
                images = False
            built.append(lw_layers.Dense(args["units"], activation=args.get("activation", "relu")))
        elif kind == "dropout":
            built.append(lw_layers.Dropout(args["rate"]))
        else:
            built.append(lw_layers.BatchNorm(activation=args.get("activation", "identity")))
    if images:
        built.append(lw_layers.Flatten())
    return built


IMAGE_SHAPES = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28)}
"""The example shape of the bundled image data sets, used when ``--input-shape`` is not given."""


def input_shape(text) -> tuple[int, ...]:
    """``CxHxW`` such as ``1x28x28`` (or a list of three numbers in a config file)."""
    try:
        parts = text if isinstance(text, list) else str(text).lower().split("x")
        shape = tuple(int(part) for part in parts)
    except (ValueError, TypeError):
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected CHANNELSxHEIGHTxWIDTH such as 1x28x28, received {str(text)!r}")
    return shape


def arch_name(text) -> str:
    if text not in ARCHITECTURES:
        raise argparse.ArgumentTypeError(f"unknown architecture {text!r}; expected one of {', '.join(ARCHITECTURES)}")
    return text
