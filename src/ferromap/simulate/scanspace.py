"""Exact operations on a scan that samples one period of a periodic crystal densely enough.

The intensity a probe of convergence semi-angle α produces at any detector pixel is, as a
function of the probe position, band-limited to spatial frequencies below ``2α/λ``: it is a
sum of interference terms between pairs of incident partial waves, both inside the aperture
(true for multislice, aberrations and tilt alike). A scan of exactly one period of the
specimen's box on an ``N × N`` grid therefore holds every pattern of the box when its step is
below ``λ/(4α)`` (0.26 Å at 200 kV and 24 mrad; the 2×2-cell box is scanned at 0.247 Å).
From such a scan, Fourier interpolation gives

* the patterns on the same grid moved by any sub-step offset (:func:`periodic_scan`), and
* the incoherent average over a Gaussian finite source (partial spatial coherence), exactly,
  as a Gaussian taper of the scan-space spectrum.

``tests/simulate/test_scanspace.py`` checks both against direct multislice runs.
"""

from __future__ import annotations

import numpy as np

FWHM_PER_SIGMA = 2 * np.sqrt(2 * np.log(2))


def _frequencies(n: int) -> np.ndarray:
    return np.fft.fftfreq(n)  # cycles per scan pixel


def periodic_scan(
    data: np.ndarray,
    shift_px: tuple[float, float] = (0.0, 0.0),
    source_sigma_px: float = 0.0,
) -> np.ndarray:
    """Patterns of a periodic scan moved by a sub-step offset and seen through a finite source.

    Parameters
    ----------
    data : numpy.ndarray
        ``(rows, cols, k_row, k_col)``: one period of the specimen scanned on a grid fine
        enough for its band limit (see the module docstring).
    shift_px : tuple of float
        ``(d_row, d_col)`` in scan pixels: output position ``(r, c)`` is the pattern at
        ``(r + d_row, c + d_col)`` of the input.
    source_sigma_px : float
        Standard deviation of the Gaussian source in scan pixels (0: a point source).

    Returns
    -------
    numpy.ndarray
        float32 array of the same shape.
    """
    data = np.asarray(data)
    if data.ndim != 4:
        raise ValueError(f"data must be (rows, cols, k_row, k_col), got shape {data.shape}")
    if source_sigma_px < 0:
        raise ValueError(f"source_sigma_px must be >= 0, got {source_sigma_px}")
    rows, cols = data.shape[:2]
    fr, fc = _frequencies(rows)[:, None], _frequencies(cols)[None, :]
    weight = np.exp(2j * np.pi * (fr * shift_px[0] + fc * shift_px[1]))
    weight *= np.exp(-2 * (np.pi * source_sigma_px) ** 2 * (fr**2 + fc**2))
    for axis, n in ((0, rows), (1, cols)):  # Nyquist: keep the output real
        if n % 2 == 0:
            idx = [slice(None), slice(None)]
            idx[axis] = n // 2
            weight[tuple(idx)] = weight[tuple(idx)].real
    import scipy.fft

    moved = np.ascontiguousarray(np.moveaxis(data.astype(np.float32), (0, 1), (2, 3)))
    spectrum = scipy.fft.fft2(moved, workers=-1)  # the scan axes last: contiguous FFTs
    spectrum *= weight.astype(np.complex64)
    out = scipy.fft.ifft2(spectrum, workers=-1).real.astype(np.float32)
    return np.ascontiguousarray(np.moveaxis(out, (2, 3), (0, 1)))


def sample_positions(data: np.ndarray, positions_px: np.ndarray) -> np.ndarray:
    """Patterns of a periodic scan at arbitrary ``(row, col)`` positions (scan pixels).

    Parameters
    ----------
    data : numpy.ndarray
        ``(rows, cols, k_row, k_col)`` periodic scan, as for :func:`periodic_scan`.
    positions_px : numpy.ndarray
        ``(n, 2)`` fractional ``(row, col)`` positions.

    Returns
    -------
    numpy.ndarray
        ``(n, k_row, k_col)`` float32.
    """
    data = np.asarray(data)
    pos = np.asarray(positions_px, dtype=np.float64)
    if data.ndim != 4 or pos.ndim != 2 or pos.shape[1] != 2:
        raise ValueError("data must be 4-D and positions_px (n, 2)")
    rows, cols = data.shape[:2]
    spectrum = np.fft.fft2(data.astype(np.float64), axes=(0, 1))
    mr = np.fft.fftfreq(rows) * rows
    mc = np.fft.fftfreq(cols) * cols
    er = np.exp(2j * np.pi * pos[:, :1] * mr[None] / rows)  # (n, rows)
    ec = np.exp(2j * np.pi * pos[:, 1:] * mc[None] / cols)  # (n, cols)
    out = np.einsum("nr,nc,rckl->nkl", er, ec, spectrum, optimize=True)
    return (out.real / (rows * cols)).astype(np.float32)


def scan_spectrum(data: np.ndarray) -> np.ndarray:
    """The scan-axis spectrum of a periodic scan, for :func:`grid_scan` (compute it once per
    scan when sampling it many times).

    Parameters
    ----------
    data : numpy.ndarray
        ``(rows, cols, k_row, k_col)`` periodic scan, as for :func:`periodic_scan`.

    Returns
    -------
    numpy.ndarray
        ``(k_row·k_col, rows, cols)`` complex64.
    """
    data = np.asarray(data)
    if data.ndim != 4:
        raise ValueError(f"data must be (rows, cols, k_row, k_col), got shape {data.shape}")
    import scipy.fft

    moved = np.ascontiguousarray(np.moveaxis(data.astype(np.float32), (0, 1), (2, 3)))
    return scipy.fft.fft2(moved, workers=-1).reshape(-1, *data.shape[:2]).astype(np.complex64)


def grid_scan(spectrum: np.ndarray, rows_px: np.ndarray, cols_px: np.ndarray,
              frame: tuple[int, int], source_sigma_px: float = 0.0) -> np.ndarray:
    """Patterns of a periodic scan on a rectilinear grid of arbitrary positions, exactly.

    Output position ``(i, j)`` is the pattern at ``(rows_px[i], cols_px[j])`` of the periodic
    input (in its scan pixels), seen through a Gaussian source of ``source_sigma_px``. The
    interpolation is separable, so a whole scan costs two matrix products.

    Parameters
    ----------
    spectrum : numpy.ndarray
        :func:`scan_spectrum` of the periodic scan, ``(k_row·k_col, rows, cols)``.
    rows_px, cols_px : numpy.ndarray
        Fractional row coordinates of the output rows, column coordinates of its columns.
    frame : tuple of int
        ``(k_row, k_col)`` of the patterns.
    source_sigma_px : float
        Standard deviation of the source in scan pixels (0: a point source).

    Returns
    -------
    numpy.ndarray
        ``(len(rows_px), len(cols_px), k_row, k_col)`` float32.
    """
    spectrum = np.asarray(spectrum)
    if spectrum.ndim != 3 or spectrum.shape[0] != frame[0] * frame[1]:
        raise ValueError("spectrum must be (k_row·k_col, rows, cols) of the given frame")
    if source_sigma_px < 0:
        raise ValueError(f"source_sigma_px must be >= 0, got {source_sigma_px}")
    n_r, n_c = spectrum.shape[1:]

    def phases(pos, n):
        m = np.fft.fftfreq(n) * n
        taper = np.exp(-2 * (np.pi * source_sigma_px / n) ** 2 * m**2)
        return (np.exp(2j * np.pi * np.outer(np.asarray(pos, float), m) / n) * taper / n
                ).astype(np.complex64)

    er, ec = phases(rows_px, n_r), phases(cols_px, n_c)
    g = spectrum @ ec.T  # (P, n_r, out_cols)
    out = np.einsum("ir,prw->iwp", er, g, optimize=True).real
    return np.ascontiguousarray(out.reshape(len(er), len(ec), *frame), dtype=np.float32)
