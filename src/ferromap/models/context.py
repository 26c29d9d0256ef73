"""The scan-context model: a small convolutional network over the scan's feature maps.

A single pattern says little about the polarization where the probe sits between the
columns, and thermal diffuse scattering, a finite source and shot noise wash out the fine
detail a per-pattern network reads. The Nb displacement is, however, a property of the
lattice around a position: how the deflection and the ring intensities vary over a unit
cell or two. This model therefore reads, for every scan position, the diffraction features
(:mod:`ferromap.core.features`) of its neighbourhood:

1. the ``(rows, cols, K)`` feature map is resampled to the model's scan sampling (Å per
   pixel; bilinear), so that the network's receptive field is a fixed physical size
   whatever the scan step;
2. a fully convolutional network (a 1×1 layer, dilated 3×3 layers, a 1×1 classifier) gives
   class log-probabilities at every pixel of that grid, which are sampled back at the scan
   positions;
3. by default this is done in all 8 orientations of the square lattice (the features
   transform exactly, :func:`feature_ops`) and the mapped-back log-probabilities averaged.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.ndimage import map_coordinates
from torch import nn

from ferromap.classes import ClassSet
from ferromap.core.features import RingHarmonics
from ferromap.models.prediction import Prediction, probabilities
from ferromap.models.symmetry import SymOp, usable_ops


class ContextNet(nn.Module):
    """Fully convolutional classifier of feature maps on the model's scan grid.

    Parameters
    ----------
    n_features : int
        Input channels (:attr:`RingHarmonics.n_features`).
    n_classes : int
        Output classes.
    width : int
        Channels of the hidden layers.
    dilations : tuple of int
        One dilated 3×3 layer per entry (the receptive field is ``1 + 2·sum``).

    Notes
    -----
    The inputs are standardised with the buffers ``feature_mean`` and ``feature_scale``
    (saved with the weights; :meth:`fit_standardisation`), and the log of the scan step in Å
    is appended as a constant channel.
    """

    def __init__(self, n_features: int, n_classes: int, width: int = 48,
                 dilations: tuple[int, ...] = (1, 2, 4, 4)):
        super().__init__()
        self.config = {"n_features": n_features, "n_classes": n_classes, "width": width,
                       "dilations": list(dilations)}
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_scale", torch.ones(n_features))
        layers: list[nn.Module] = [nn.Conv2d(n_features + 1, width, 1), nn.ReLU()]
        for d in dilations:
            layers += [nn.Conv2d(width, width, 3, padding=d, dilation=d, padding_mode="replicate"),
                       nn.ReLU()]
        layers.append(nn.Conv2d(width, n_classes, 1))
        self.layers = nn.Sequential(*layers)

    @property
    def receptive_field(self) -> int:
        """Model-grid pixels one output sees along each axis."""
        return 1 + 2 * sum(self.config["dilations"])

    @torch.no_grad()
    def fit_standardisation(self, features: np.ndarray, basis: RingHarmonics) -> None:
        """Set the input statistics from training features ``(n, K)``.

        Harmonic channels keep a zero mean and each ``cos``/``sin`` pair shares one scale,
        so that standardising commutes with the symmetry operations.
        """
        x = np.asarray(features, np.float64).reshape(-1, basis.n_features)
        mean, scale = x.mean(axis=0), x.std(axis=0)
        for k, (_, m, part) in enumerate(basis.channels()):
            if m > 0:
                mean[k] = 0.0
            if part == "cos":
                scale[k] = scale[k + 1] = np.sqrt((x[:, k] ** 2 + x[:, k + 1] ** 2).mean() / 2)
        self.feature_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.feature_scale.copy_(torch.as_tensor(np.maximum(scale, 1e-9), dtype=torch.float32))

    def forward(self, x: torch.Tensor, log_step: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, n_classes, H, W)`` of features ``(B, K, H, W)`` at scan steps
        ``exp(log_step)`` Å ``(B,)``."""
        x = (x - self.feature_mean[:, None, None]) / self.feature_scale[:, None, None]
        step = torch.ones_like(x[:, :1]) * log_step.view(-1, 1, 1, 1).to(x.dtype)
        return self.layers(torch.cat([x, step], dim=1))


def scan_op(image: np.ndarray, op: SymOp) -> np.ndarray:
    """A symmetry operation on the scan axes ``(0, 1)`` of ``(rows, cols, ...)`` maps.

    Scan positions are not periodic, so the mirrors are plain flips (a translation of the
    whole map does not matter to a convolutional network)."""
    (a, b), (c, d) = op.matrix
    out = image
    if a == 0:
        out = np.swapaxes(out, 0, 1)
        a, d = -b, -c
    if a == -1:
        out = np.flip(out, 1)
    if d == -1:
        out = np.flip(out, 0)
    return out


def inverse_op(op: SymOp, ops: list[SymOp]) -> SymOp:
    """The operation of ``ops`` that undoes ``op``."""
    inv = np.linalg.inv(np.asarray(op.matrix, float)).round()
    for o in ops:
        if np.array_equal(np.asarray(o.matrix, float), inv):
            return o
    raise ValueError(f"the operations given do not hold the inverse of {op.name}")


def feature_transform(basis: RingHarmonics, op: SymOp) -> np.ndarray:
    """``(K, K)`` matrix ``T``: features of the transformed pattern are ``features @ T``.

    Exact for :class:`RingHarmonics` (a signed permutation within each ring and order).
    """
    from ferromap.models.symmetry import group_ops

    images = basis.images()
    moved = inverse_op(op, group_ops("d4")).apply(images).reshape(len(images), -1).T
    t, *_ = np.linalg.lstsq(basis.matrix, moved, rcond=None)
    t[np.abs(t) < 1e-6] = 0.0
    return t.astype(np.float32)


def feature_ops(basis: RingHarmonics, group: str, classes: ClassSet):
    """``[(op, T, perm, inverse)]`` for every usable operation of ``group``."""
    pairs = usable_ops(group, classes)
    ops = [op for op, _ in pairs]
    return [(op, feature_transform(basis, op), perm, inverse_op(op, ops)) for op, perm in pairs]


def model_grid_coords(scan_shape: tuple[int, int], step_A: float,
                      sampling_A: float) -> list[np.ndarray]:
    """Scan-position coordinates ``[rows, cols]`` of every point of the model grid over a
    scan of ``scan_shape`` positions at ``step_A`` (from position ``(0, 0)``)."""
    if not (step_A > 0 and sampling_A > 0):
        raise ValueError(f"step_A and sampling_A must be positive, got {step_A}, {sampling_A}")
    n = [int(np.floor((m - 1) * step_A / sampling_A + 1e-9)) + 1 for m in scan_shape]
    return np.meshgrid(*(np.arange(k) * sampling_A / step_A for k in n), indexing="ij")


def to_model_grid(fmap: np.ndarray, step_A: float, sampling_A: float) -> np.ndarray:
    """Resample ``(rows, cols, K)`` maps at ``step_A`` onto a grid of ``sampling_A`` (bilinear),
    starting at position ``(0, 0)``."""
    coords = model_grid_coords(fmap.shape[:2], step_A, sampling_A)
    return np.stack([map_coordinates(fmap[..., k], coords, order=1, mode="nearest")
                     for k in range(fmap.shape[-1])], axis=-1).astype(np.float32)


def from_model_grid(maps: np.ndarray, shape: tuple[int, int], step_A: float,
                    sampling_A: float) -> np.ndarray:
    """``(C, h, w)`` maps on the model grid sampled back at the ``shape`` scan positions:
    ``(C, rows, cols)``."""
    if not (step_A > 0 and sampling_A > 0):
        raise ValueError(f"step_A and sampling_A must be positive, got {step_A}, {sampling_A}")
    u, v = (np.arange(k) * step_A / sampling_A for k in shape)
    coords = np.meshgrid(u, v, indexing="ij")
    return np.stack([map_coordinates(m, coords, order=1, mode="nearest") for m in maps])


#: Scan positions per side of the tiles a large map is read in (bounded memory: the model
#: grid of a tile at a 1 Å step is about 780² × 72 floats).
TILE = 256


def predict_map(net: ContextNet, fmap: np.ndarray, step_A: float, sampling_A: float,
                ops, device: str = "cpu", tile: int = TILE) -> Prediction:
    """Class probabilities at every scan position of a feature map.

    A map larger than ``tile`` positions along an axis is read in tiles, each with a margin
    of positions around it wide enough for the network's field of view (so every position
    sees the same neighbourhood as in one piece, on a grid at its tile's origin).

    Parameters
    ----------
    net : ContextNet
        The network (eval mode).
    fmap : numpy.ndarray
        ``(rows, cols, K)`` features (:class:`ferromap.core.features.FeatureKernel`).
    step_A : float
        Scan step in Å.
    sampling_A : float
        The model's grid (Å per pixel).
    ops : list
        :func:`feature_ops` to average over (one identity entry: a single pass).
    device : str
        Torch device.
    tile : int
        Tile side in scan positions.

    Returns
    -------
    Prediction
        ``probs`` ``(rows·cols, C)``, NaN ``distance``, and ``agreement`` with several ops.
    """
    if fmap.ndim != 3 or not step_A > 0 or tile < 1:
        raise ValueError(f"fmap must be (rows, cols, K), step_A > 0 and tile >= 1; got "
                         f"{fmap.shape}, {step_A}, {tile}")
    rows, cols = fmap.shape[:2]
    if max(rows, cols) <= tile:
        return _predict_piece(net, fmap, step_A, sampling_A, ops, device)
    margin = int(np.ceil((net.receptive_field // 2 + 1) * sampling_A / step_A)) + 2
    probs = np.empty((rows, cols, net.config["n_classes"]), np.float32)
    agreement = np.empty((rows, cols), np.float32) if len(ops) > 1 else None
    for r in range(0, rows, tile):
        for c in range(0, cols, tile):
            r0, c0 = max(r - margin, 0), max(c - margin, 0)
            r1, c1 = min(r + tile + margin, rows), min(c + tile + margin, cols)
            part = _predict_piece(net, fmap[r0:r1, c0:c1], step_A, sampling_A, ops, device)
            keep = np.s_[r - r0 : r - r0 + min(tile, rows - r),
                         c - c0 : c - c0 + min(tile, cols - c)]
            probs[r : r + tile, c : c + tile] = part.probs.reshape(r1 - r0, c1 - c0, -1)[keep]
            if agreement is not None:
                agreement[r : r + tile, c : c + tile] = \
                    part.agreement.reshape(r1 - r0, c1 - c0)[keep]
    return Prediction(probs.reshape(rows * cols, -1), np.full(rows * cols, np.nan, np.float32),
                      None if agreement is None else agreement.ravel())


def _predict_piece(net: ContextNet, fmap: np.ndarray, step_A: float, sampling_A: float, ops,
                   device: str) -> Prediction:
    """:func:`predict_map` of one piece of a map."""
    rows, cols = fmap.shape[:2]
    grid = to_model_grid(np.nan_to_num(fmap), step_A, sampling_A)
    log_step = torch.tensor([np.log(step_A)], dtype=torch.float32, device=device)
    total, votes = 0.0, []
    for op, t, perm, inv in ops:
        x = np.ascontiguousarray(scan_op(grid @ t, op).transpose(2, 0, 1))[None]
        with torch.inference_mode():
            out = net(torch.from_numpy(x).to(device), log_step)[0]
            log_p = torch.log_softmax(out.float(), dim=0).cpu().numpy()
        log_p = np.ascontiguousarray(scan_op(log_p.transpose(1, 2, 0), inv))[..., perm]
        total = total + log_p
        votes.append(log_p.argmax(axis=-1))
    mean = from_model_grid((total / len(ops)).transpose(2, 0, 1), (rows, cols), step_A, sampling_A)
    probs = probabilities(mean.reshape(len(mean), -1).T)
    agreement = None
    if len(ops) > 1:
        labels = np.stack([v.ravel() for v in votes])  # on the model grid
        fine = from_model_grid(np.mean(labels == np.argmax(total, -1).ravel(), axis=0)
                               .reshape(1, *total.shape[:2]), (rows, cols), step_A, sampling_A)
        agreement = fine.ravel().astype(np.float32)
    return Prediction(probs, np.full(rows * cols, np.nan, np.float32), agreement)


def predict_map_knn(knn, fmap: np.ndarray, step_A: float, sampling_A: float,
                    basis: RingHarmonics, window_px: int) -> Prediction:
    """PCA + kNN on the polar statistics of a feature map
    (:func:`ferromap.core.features.polar_statistics`), at every scan position.

    Parameters
    ----------
    knn : ferromap.models.pca_knn.PcaKnn
        Fitted on polar statistics of training scans.
    fmap : numpy.ndarray
        ``(rows, cols, K)`` features.
    step_A, sampling_A : float
        Scan step and the model grid, Å.
    basis : RingHarmonics
        The features' basis.
    window_px : int
        Window of the statistics on the model grid.

    Returns
    -------
    Prediction
        Vote fractions and the distance to the k-th neighbour, per position.
    """
    from ferromap.core.features import polar_statistics

    rows, cols = fmap.shape[:2]
    grid = to_model_grid(np.nan_to_num(fmap), step_A, sampling_A)
    stats = polar_statistics(grid, basis, window_px)
    pred = knn.predict(stats.reshape(-1, stats.shape[-1]))
    h, w = grid.shape[:2]
    probs = from_model_grid(pred.probs.T.reshape(-1, h, w), (rows, cols), step_A, sampling_A)
    dist = from_model_grid(pred.distance.reshape(1, h, w), (rows, cols), step_A, sampling_A)
    probs = np.clip(probs.reshape(len(probs), -1).T, 0.0, None)
    probs /= np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)
    return Prediction(probs.astype(np.float32), dist.ravel().astype(np.float32))
