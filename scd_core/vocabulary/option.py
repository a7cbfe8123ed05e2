"""One option of an ``scd`` command (:class:`Option`): what the command line, the options' checks and
the QGIS dialog all read. Stdlib only (see the package's docstring)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Option:
    """One option: ``name`` is the Python name (a :class:`~scd_core.geo.options.DetectOptions` field,
    the argparse ``dest``), ``flag`` the command line's, ``label`` the dialog's.

    ``default`` None means decided per run (the help says how). A number lies in ``minimum`` ..
    ``maximum`` (the ends given excluded where ``open_range``) and is a multiple of ``multiple_of``; a
    value is one of ``choices`` when there are any. ``values`` is how many values the flag takes (as
    argparse's ``nargs``: 2, or "+" for one or more); None: one.
    """

    name: str
    flag: str
    label: str
    help: str
    type: type = str
    default: Any = None
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    open_range: bool = False
    multiple_of: int | None = None
    metavar: str | tuple[str, ...] | None = None
    values: int | str | None = None

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` (of this option's type) in the words after the option's name,
        or None. None is always allowed: it means the default."""
        if value is None:
            return None
        if self.choices:
            return None if value in self.choices else f"takes {either(self.choices)}, got {value!r}"
        if self.type not in (int, float) or isinstance(value, bool):
            return None
        if not math.isfinite(value):
            return f"must be a finite number, got {value!r}"
        if self.multiple_of and (value <= 0 or value % self.multiple_of):
            return f"must be a positive multiple of {self.multiple_of}, got {value:g}"
        low, high = self.minimum, self.maximum
        if self.open_range and low is not None and high is not None and not low < value < high:
            return f"must lie in ({low:g}, {high:g}), got {value:g}"
        if self.open_range and low is not None and value <= low:
            return f"must be more than {low:g}, got {value:g}"
        if low is not None and value < low:
            return f"must be at least {low:g}, got {value:g}"
        if high is not None and value > high:
            return f"must be at most {high:g}, got {value:g}"
        return None


def either(choices: tuple[Any, ...]) -> str:
    """The choices as a sentence says them: ``a, b or c``."""
    words = [str(choice) for choice in choices]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


#: ``--overwrite`` of the commands that write one file.
OVERWRITE_FILE = Option("overwrite", "--overwrite", "Overwrite", "replace an existing file", bool, default=False)
