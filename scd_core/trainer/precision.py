"""Mixed precision and memory format on CUDA; plain float32 on the CPU.

``amp: auto`` trains in bfloat16 where the GPU supports it (no gradient scaling needed: bf16 has
float32's range) and otherwise in float16 with a :class:`torch.amp.GradScaler`, which scales the loss
so that small gradients do not underflow and skips the steps whose gradients overflowed. Losses and
scores are computed from float32 casts of the outputs. ``channels_last`` stores activations as
N×H×W×C, the layout tensor cores convolve fastest. On the CPU both stay off unless asked for: the
CPU is where runs must repeat bit for bit.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, cast

import torch

from scd_core.errors import InvalidOptionError


@dataclass(frozen=True)
class Precision:
    """How this run computes: the autocast dtype (None: float32) and the memory format."""

    device: torch.device
    dtype: torch.dtype | None
    channels_last: bool

    @classmethod
    def choose(cls, device: torch.device, amp: str, channels_last: bool | None) -> Precision:
        """The precision of config ``amp`` on ``device`` (see the module docstring)."""
        cuda = device.type == "cuda"
        if amp == "auto":
            dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if cuda else None
        elif amp == "off":
            dtype = None
        else:
            dtype = torch.bfloat16 if amp == "bf16" else torch.float16
            if dtype == torch.float16 and not cuda:
                raise InvalidOptionError("amp: fp16 needs a CUDA device (use bf16 or off on the CPU)")
        return cls(device, dtype, cuda if channels_last is None else channels_last)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """Autocast to the mixed dtype, or nothing in float32."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def scaler(self) -> torch.amp.GradScaler | None:
        """A gradient scaler for float16, None otherwise."""
        return torch.amp.GradScaler(self.device.type) if self.dtype == torch.float16 else None

    def inputs(self, tensor: torch.Tensor) -> torch.Tensor:
        """A batch moved to the device, in the model's memory format."""
        tensor = tensor.to(self.device, non_blocking=True)
        return tensor.contiguous(memory_format=torch.channels_last) if self.channels_last else tensor

    def prepare(self, model: torch.nn.Module) -> torch.nn.Module:
        """``model`` on the device, in the memory format chosen."""
        model = model.to(self.device)
        # Module.to takes memory_format (only 4-D parameters change), though torch's stubs omit it
        return cast(Any, model).to(memory_format=torch.channels_last) if self.channels_last else model

    def describe(self) -> str:
        """Device, dtype and memory format in words, for the log."""
        dtype = "float32" if self.dtype is None else str(self.dtype).removeprefix("torch.")
        return f"{self.device} · {dtype}{' · channels_last' if self.channels_last else ''}"
