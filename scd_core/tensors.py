"""Telling torch tensors from numpy arrays without importing torch, so light modules stay light."""

from __future__ import annotations

from typing import Any


def is_torch_tensor(obj: Any) -> bool:
    """True for a ``torch.Tensor`` (checked by type name: importing torch costs a second or more)."""
    return type(obj).__module__.split(".")[0] == "torch"
