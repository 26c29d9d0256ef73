"""The streaming kernels' arithmetic on a torch device (a GPU).

The kernels of :mod:`ferromap.core` (CoM moments, crops, ring-harmonic features) are written
once, against numpy's names, and take an array namespace ``xp``. :class:`TorchNamespace`
gives those names to torch tensors on one device, so with a model on a GPU the raw blocks of
patterns are uploaded as they are read (in the file's dtype, through pinned memory) and
cropped, normalised and projected there: the host threads only read.
"""

from __future__ import annotations

import functools
import threading

import numpy as np
import torch

#: Host arrays larger than this are staged through pinned memory on their way to a GPU.
PINNED_BYTES = 2**20

#: Unsigned integer types torch computes poorly on: uploaded as the signed type of the same
#: width, widened and masked on the device.
_UNSIGNED = {np.dtype(np.uint16): (np.int16, torch.int32, 0xFFFF),
             np.dtype(np.uint32): (np.int32, torch.int64, 0xFFFFFFFF)}

_THREAD = threading.local()


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
        """``a`` on the device: a tensor is moved; a numpy array (a read-only memmap, a
        strided view) is copied once into a host tensor of its own dtype, pinned when large,
        and sent without waiting (unsigned integers are widened on the device).

        On a GPU, each host thread computes on a CUDA stream of its own, so one thread's
        copies and kernels never wait for another's."""
        self._use_thread_stream()
        if isinstance(a, torch.Tensor):
            return a.to(self.device, non_blocking=True)
        a = np.asarray(a)
        if not a.dtype.isnative:
            a = a.astype(a.dtype.newbyteorder("="))
        if a.dtype == np.uint64:
            a = a.astype(np.float64)
        signed, wide, mask = _UNSIGNED.get(a.dtype, (None, None, None))
        if signed:
            a = a.view(signed)
        pinned = self.device.type == "cuda" and a.nbytes > PINNED_BYTES
        host = torch.empty(a.shape, dtype=_torch_dtype(a.dtype), pin_memory=pinned)
        np.copyto(host.numpy(), a)
        out = host.to(self.device, non_blocking=True)
        return out.to(wide).bitwise_and_(mask) if signed else out

    def _use_thread_stream(self) -> None:
        """Make a CUDA stream of its own current in this thread (ordered after everything
        queued before it, such as the model's weights)."""
        if self.device.type != "cuda":
            return
        if getattr(_THREAD, "device", None) != self.device:
            stream = torch.cuda.Stream(self.device)
            stream.wait_stream(torch.cuda.current_stream(self.device))
            torch.cuda.set_stream(stream)
            _THREAD.device = self.device

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
    """The namespace the streaming kernels compute in for a model on ``device``: a
    :class:`TorchNamespace` on a CUDA GPU, else ``None`` (numpy, on the host threads)."""
    return TorchNamespace(device) if str(device).startswith("cuda") else None


@functools.cache
def _torch_dtype(dtype: np.dtype) -> torch.dtype:
    """torch's type for a numpy type."""
    return torch.from_numpy(np.empty(0, dtype)).dtype
