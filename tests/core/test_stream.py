"""Every executor gives the same named buffers; memmaps stream block by block."""

from __future__ import annotations

import threading

import dask.array as da
import numpy as np
import pytest

from ferromap.core.stream import Buffer, Kernel, block_slices, linear_statistics, run
from ferromap.errors import Cancelled


class WhereKernel(Kernel):
    """Records where each block sits, and sums patterns into a 'sum' buffer."""

    def __init__(self, frame):
        self.buffers = (Buffer("row", ()), Buffer("col", ()), Buffer("total", frame, "sum"))

    def process(self, block, where):
        rr, cc = np.mgrid[where[0], where[1]]
        return {"row": rr, "col": cc, "total": block.sum(axis=(0, 1))}


@pytest.fixture(params=["numpy", "memmap", "dask", "synchronous"])
def executor(request, tmp_path):
    data = np.random.default_rng(0).integers(0, 50, (9, 7, 6, 5)).astype(np.uint16)
    if request.param == "memmap":
        np.save(tmp_path / "d.npy", data)
        return np.load(tmp_path / "d.npy", mmap_mode="r"), data, None
    if request.param == "dask":
        return da.from_array(data, chunks=(2, 3, 6, 5)), data, None
    return data, data, "synchronous" if request.param == "synchronous" else None


def test_blocks_land_where_they_came_from(executor):
    source, data, scheduler = executor
    out = run(source, WhereKernel(data.shape[2:]), scheduler=scheduler)
    rr, cc = np.mgrid[0:9, 0:7]
    np.testing.assert_array_equal(out["row"], rr)
    np.testing.assert_array_equal(out["col"], cc)
    np.testing.assert_allclose(out["total"], data.sum(axis=(0, 1)))


def test_linear_statistics_match_numpy(executor):
    source, data, scheduler = executor
    m = np.random.default_rng(1).random((30, 2))
    got = linear_statistics(source, {"a": m, "b": m[:, :1]}, scheduler=scheduler)
    ref = data.reshape(9, 7, 30).astype(np.float64) @ m
    np.testing.assert_allclose(got["a"], ref, rtol=1e-5)
    np.testing.assert_allclose(got["b"][..., 0], ref[..., 0], rtol=1e-5)


@pytest.mark.parametrize("view", ["whole", "subsampled", "cropped"])
@pytest.mark.parametrize("columns", [3, 12])  # a few detectors, and a matrix product
def test_sparse_detectors_on_views_match_numpy(tmp_path, view, columns):
    """Detectors zero outside a band of rows (a disk) are summed over that band only, from a
    subsampled or cropped memmap view as from the whole file."""
    data = np.random.default_rng(2).integers(0, 900, (12, 10, 16, 16)).astype(np.uint16)
    np.save(tmp_path / "d.npy", data)
    mm = np.load(tmp_path / "d.npy", mmap_mode="r")
    pick = {"whole": np.s_[:, :], "subsampled": np.s_[::2, ::3],
            "cropped": np.s_[:, :, 2:14, 3:11]}[view]
    source, ref_data = mm[pick], data[pick]
    n_px = ref_data.shape[2] * ref_data.shape[3]
    m = np.random.default_rng(3).random((n_px, columns))
    m[: n_px // 3] = 0  # no weight in the first rows of the frame
    m[-5:, 0] = 0
    m[:, 1] = 0  # one detector that sees nothing
    got = linear_statistics(source, {"m": m})["m"]
    ref = ref_data.reshape(*ref_data.shape[:2], n_px).astype(np.float64) @ m
    np.testing.assert_allclose(got, ref, rtol=1e-5)


@pytest.mark.parametrize("view", ["whole", "cropped"])
def test_com_moments_from_row_sums_match_numpy(tmp_path, view):
    """The CoM's moments (hot pixels out) are read from per-row sums in two passes; a disk
    detector, a detector of a few pixels and a detector of random weights alongside them give
    the same sums as a plain matrix product."""
    from ferromap.core.com import com_matrix
    from ferromap.core.stream import LinearKernel
    from ferromap.core.virtual import annulus_mask

    rng = np.random.default_rng(4)
    data = rng.integers(0, 60000, (6, 5, 24, 20)).astype(np.uint16)
    np.save(tmp_path / "d.npy", data)
    pick = {"whole": np.s_[:, :], "cropped": np.s_[:, :, 1:23, 2:18]}[view]
    source, ref_data = np.load(tmp_path / "d.npy", mmap_mode="r")[pick], data[pick]
    frame = ref_data.shape[2:]
    good = np.ones(frame)
    good[3, 4] = good[10, 7] = 0  # hot pixels
    few = np.zeros(frame)
    few[5, 5], few[6, 9] = 2.0, -1.5
    matrices = {"moments": com_matrix(frame, good), "disk": annulus_mask(frame, (11, 8), 6)
                .reshape(-1, 1), "few": few.reshape(-1, 1),
                "random": rng.random((frame[0] * frame[1], 1))}
    kernel = LinearKernel(matrices)
    got = kernel.process(source, (slice(0, 6), slice(0, 5)))
    flat = ref_data.reshape(6, 5, -1).astype(np.float64)
    for name, m in matrices.items():
        np.testing.assert_allclose(got[name], flat @ m.reshape(len(flat[0, 0]), -1), rtol=2e-6)
    factored = kernel._separable_columns(frame)
    assert set(factored.factors) == {0, 1, 2}  # the moments; not the disk, few or random
    assert factored.factors[2][0] == 1 and len(factored.pixels) == 2  # col: column-index base


@pytest.mark.parametrize("dtype, hot_value", [(np.uint32, 0xFFFFFFFF), (np.float32, np.nan),
                                              (np.float32, 1e12)])
def test_a_hot_pixel_never_enters_the_sums(dtype, hot_value):
    """A hot pixel's count (a detector's 2**32 - 1 marker, NaN, a huge value) is left out
    exactly, as its zero weight says: it is never summed with the others."""
    from ferromap.core.com import center_of_mass

    rng = np.random.default_rng(5)
    data = rng.integers(0, 50, (3, 4, 32, 32)).astype(dtype)
    data[..., 7, 9] = hot_value
    hot = np.zeros((32, 32), bool)
    hot[7, 9] = True
    clean = data.astype(np.float64)
    clean[..., 7, 9] = 0
    total = clean.sum(axis=(2, 3))
    rr, cc = np.mgrid[0:32, 0:32]
    want = np.stack([(clean * rr).sum(axis=(2, 3)), (clean * cc).sum(axis=(2, 3))], -1)
    np.testing.assert_allclose(center_of_mass(data, hot_pixels=hot), want / total[..., None],
                               atol=1e-4)


def test_progress_cancel_and_checks():
    data = np.ones((40, 3, 4, 4))
    seen = []
    linear_statistics(data, {"s": np.ones((16, 1))}, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1][0] == seen[-1][1] == len(block_slices(data))
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        linear_statistics(data, {"s": np.ones((16, 1))}, cancel=stop)
    with pytest.raises(ValueError, match="has 15 rows"):
        linear_statistics(data, {"s": np.ones((15, 1))})
    with pytest.raises(ValueError, match="4-D"):
        linear_statistics(data[0], {"s": np.ones((16, 1))})
    with pytest.raises(ValueError, match="unknown scheduler"):
        run(data, WhereKernel((4, 4)), scheduler="processes")


@pytest.mark.slow
def test_distributed_client_gives_identical_buffers():
    distributed = pytest.importorskip("distributed")
    data = np.random.default_rng(2).random((10, 6, 5, 5)).astype(np.float32)
    local = run(data, WhereKernel((5, 5)))
    seen = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = run(data, WhereKernel((5, 5)), scheduler=client,
                     progress=lambda d, t: seen.append(d / t))
    for name in local:
        np.testing.assert_allclose(remote[name], local[name], rtol=1e-6)
    assert seen[-1] == 1.0


def test_runs_cover_every_item_once():
    from ferromap.core.stream import runs

    assert [(s.start, s.stop) for s in runs(1100, 512)] == [(0, 512), (512, 1024), (1024, 1100)]
    assert list(runs(0)) == []
    with pytest.raises(ValueError, match="size >= 1"):
        runs(5, 0)
