"""Which torch device runs a model: the one rule for detection and training.

``auto`` is the first CUDA device when torch sees one, else the CPU; ``cpu``, ``cuda`` and ``cuda:i``
name one. A CUDA device that is not there is a user error, not a crash halfway through a run.
"""

from __future__ import annotations

import torch

from scd_core.errors import InvalidOptionError


def resolve_device(name: str) -> torch.device:
    """The device ``name`` stands for (``auto``, ``cpu``, ``cuda`` or ``cuda:i``), checked to exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InvalidOptionError(f"--device takes auto, cpu, cuda or cuda:i, got {name!r}") from None
    if device.type == "cuda":
        index = device.index or 0
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise InvalidOptionError(f"--device {name}: no such CUDA device here (use --device cpu or auto)")
    elif device.type != "cpu":
        raise InvalidOptionError(f"--device takes auto, cpu, cuda or cuda:i, got {name!r}")
    return device
