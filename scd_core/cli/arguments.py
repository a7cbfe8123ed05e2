"""Command-line arguments made from :mod:`scd_core.vocabulary`: each option's flag, type, default,
choices and help are the vocabulary's, so the command line cannot drift from the API or the plugin."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from scd_core import vocabulary
from scd_core.errors import InvalidOptionError
from scd_core.geo.options import DetectOptions
from scd_core.normalise import parse_scale

Container = argparse.ArgumentParser | argparse._ActionsContainer


def _integers(flag: str, example: str) -> Callable[[str], tuple[int, ...]]:
    """The parser of a flag of comma-separated whole numbers (``3,2,1`` → ``(3, 2, 1)``)."""

    def parse(text: str) -> tuple[int, ...]:
        try:
            return tuple(int(v) for v in text.split(","))
        except ValueError:
            raise InvalidOptionError(
                f"{flag} takes comma-separated whole numbers such as {example}, got {text!r}"
            ) from None

    return parse


#: Turns a flag's text into the option's value where that is more than its type (``--bands 3,2,1`` →
#: ``(3, 2, 1)``).
_PARSERS: dict[str, Callable[[str], Any]] = {
    "bands": _integers("--bands", "1,2,3"),
    "mask_values": _integers("--mask-values", "3,8,9,10"),
    "scale": parse_scale,
}
#: The options that limit one run to an area, one or the other (``scd batch`` takes them per pair, from PAIRS.csv).
_AREA = ("aoi", "bbox")


def add_option(parser: Container, option: vocabulary.Option, **settings: Any) -> None:
    """Add ``option``'s flag to ``parser``, its help ending in its default.

    ``settings``: ``default`` overrides the default argparse gives; ``parse`` turns the text into the
    value where the option's type does not (a CRS checked by PROJ); ``action`` is argparse's;
    ``checked=False`` leaves choices and range to the code that checks the value, so the API and the
    flag get one message (otherwise argparse refuses them, exit 2, with the vocabulary's words).
    """
    default = settings.get("default", option.default)
    if option.type is bool:
        parser.add_argument(option.flag, dest=option.name, action="store_true", default=default, help=option.help)
        return
    checked = settings.get("checked", True)
    convert = settings.get("parse") or (str if option.name in _PARSERS and option.type is str else option.type)
    shown = (
        ""
        if option.default is None
        else f" (default: {option.default:g})"
        if option.type is float
        else (f" (default: {option.default})")
    )
    action = {"action": settings["action"]} if "action" in settings else {}
    parser.add_argument(
        option.flag,
        dest=option.name,
        type=_checking(option, convert) if checked else convert,
        default=default,
        nargs=option.values,
        **action,
        metavar=option.metavar or ("|".join(map(str, option.choices)) if option.choices else None),
        help=option.help + shown,
    )


def _checking(option: vocabulary.Option, convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """``convert``, then the vocabulary's check of ``option``: argparse's refusal, in its words."""

    def checked(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {option.type.__name__}: {text!r}") from None
        if problem := option.problem(value):
            raise argparse.ArgumentTypeError(problem)
        return value

    checked.__name__ = option.type.__name__  # argparse names the type in its messages
    return checked


def offered(scope: str) -> list[vocabulary.Option]:
    """The detection options a sub-command (``"detect"`` or ``"batch"``) offers, in the vocabulary's order."""
    names = {option.name for option in vocabulary.COMMANDS[scope]}
    return [option for option in vocabulary.DETECT if option.name in names]


def add_detect_arguments(parser: argparse.ArgumentParser, scope: str) -> None:
    """Add the detection flags of ``scope`` to ``parser``; their defaults are left unset (``None``), so
    :class:`~scd_core.geo.options.DetectOptions` applies its own."""
    group = parser.add_mutually_exclusive_group() if scope == "detect" else None
    for option in offered(scope):
        target = group if group is not None and option.name in _AREA else parser
        add_option(target, option, default=None, checked=False)


def detect_options(args: argparse.Namespace, scope: str, **values: Any) -> DetectOptions:
    """The detection options given on the command line (and ``values``, e.g. a pair's AOI), checked."""
    given = {}
    for option in offered(scope):
        text = getattr(args, option.name)
        if text is not None:
            given[option.name] = _PARSERS[option.name](text) if option.name in _PARSERS else text
    return DetectOptions(**given, **values)
