"""The streaming kernels' arithmetic on a torch device (a GPU).

The kernels of :mod:`ferromap.core` (CoM moments, crops, ring-harmonic features) are written
once, against numpy's names, and take an array namespace ``xp``. :class:`TorchNamespace`
gives those names to torch tensors on one device, so with a model on a GPU the raw blocks of
patterns are uploaded as they are read (in the file's dtype, through pinned memory) and
cropped, normalised and projected there: the host threads only read.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

#: Host arrays larger than this are staged through pinned memory on their way to a GPU.
PINNED_BYTES = 2**20

#: Unsigned integer types torch computes poorly on: uploaded as the signed type of the same
#: width, widened and masked on the device.
_UNSIGNED = {np.dtype(np.uint16): (np.int16, torch.int32, 0xFFFF),
             np.dtype(np.uint32): (np.int32, torch.int64, 0xFFFFFFFF)}


class TorchNamespace:
    """numpy's array functions used by :mod:`ferromap.core`, on torch tensors on ``device``.

    Parameters
    ----------
    device : str
        A torch device (``"cuda"``, ``"cuda:1"``, ``"cpu"``).

    Examples
    --------
    >>> import numpy as np
    >>> from ferromap.core.crop import extract_crops
    >>> xp = TorchNamespace("cpu")
    >>> p = np.zeros((1, 8, 8), np.uint16); p[0, 3, 5] = 7
    >>> crop = extract_crops(p, np.array([[3.0, 5.0]]), 4, 4, xp=xp)
    >>> xp.to_host(crop)[0, 2, 2].item()
    7.0
    """

    def __init__(self, device: str = "cuda") -> None:
        self.device = torch.device(device)

    def __repr__(self) -> str:
        return f"TorchNamespace({str(self.device)!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, TorchNamespace) and other.device == self.device

    def __hash__(self) -> int:
        return hash(str(self.device))

    def asarray(self, a) -> torch.Tensor:
        """``a`` on the device: a tensor is moved; a numpy array is uploaded in its own dtype
        (unsigned integers widened there), large ones through pinned host memory."""
        if isinstance(a, torch.Tensor):
            return a.to(self.device)
        a = np.asarray(a)
        if not a.dtype.isnative:
            a = a.astype(a.dtype.newbyteorder("="))
        if a.dtype == np.uint64:
            a = a.astype(np.float64)
        signed, wide, mask = _UNSIGNED.get(a.dtype, (None, None, None))
        with warnings.catch_warnings():  # a read-only memmap: the tensor is only read
            warnings.simplefilter("ignore", UserWarning)
            host = torch.from_numpy(np.ascontiguousarray(a.view(signed) if signed else a))
        if self.device.type == "cuda" and a.nbytes > PINNED_BYTES:
            out = host.pin_memory().to(self.device, non_blocking=True)
        else:
            out = host.to(self.device)
        return out.to(wide).bitwise_and_(mask) if signed else out

    def to_host(self, a: torch.Tensor) -> np.ndarray:
        """A tensor back as a numpy array."""
        return a.detach().cpu().numpy()

    def arange(self, n: int) -> torch.Tensor:
        """``0 .. n - 1`` in float64 (what the crop's coordinates are computed in)."""
        return torch.arange(n, dtype=torch.float64, device=self.device)

    @staticmethod
    def float32(a: torch.Tensor) -> torch.Tensor:
        """``a`` as float32."""
        return a.to(torch.float32)

    @staticmethod
    def minimum(a, b) -> torch.Tensor:
        return torch.minimum(a, b)

    @staticmethod
    def maximum(a, b) -> torch.Tensor:
        return torch.maximum(a, b)

    @staticmethod
    def clip(a, lo=None, hi=None) -> torch.Tensor:
        return torch.clamp(a, min=lo, max=hi)

    @staticmethod
    def where(condition, a, b) -> torch.Tensor:
        return torch.where(condition, a, b)

    @staticmethod
    def take_along_axis(a, index, axis: int) -> torch.Tensor:
        return torch.gather(a, axis, index)

    @staticmethod
    def nan_to_num(a, nan=0.0, posinf=None, neginf=None) -> torch.Tensor:
        return torch.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def amin(a, axis, keepdims: bool = False) -> torch.Tensor:
        return torch.amin(a, dim=axis, keepdim=keepdims)

    @staticmethod
    def amax(a, axis, keepdims: bool = False) -> torch.Tensor:
        return torch.amax(a, dim=axis, keepdim=keepdims)


def namespace(device: str) -> TorchNamespace | None:
    """The namespace the streaming kernels compute in for a model on ``device``: ``None``
    (numpy, on the host threads) for the CPU, a :class:`TorchNamespace` for a GPU."""
    return None if str(device) == "cpu" else TorchNamespace(device)
