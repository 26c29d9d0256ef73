"""open_4dstem on files ferromap writes itself: npy, zarr, TIFF, folders, HDF5."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import tifffile
import zarr

from ferromap.errors import ReadError, UnsupportedFormatError, user_message
from ferromap.io import can_open, open_4dstem


@pytest.fixture
def cube():
    return np.random.default_rng(1).integers(0, 60000, (5, 7, 12, 10)).astype(np.uint16)


def test_npy_is_lazy_and_exact(tmp_path, cube):
    np.save(tmp_path / "d.npy", cube)
    ds = open_4dstem(tmp_path / "d.npy")
    assert ds.data.shape == cube.shape and ds.format == "npy"
    np.testing.assert_array_equal(ds.data.compute(), cube)
    np.testing.assert_array_equal(ds.pattern(4, 6), cube[4, 6])
    np.testing.assert_array_equal(ds.data[1:5:2, 2:7:3, 3:9].compute(), cube[1:5:2, 2:7:3, 3:9])


def test_npy_frame_stack_needs_scan_shape(tmp_path, cube):
    np.save(tmp_path / "s.npy", cube.reshape(35, 12, 10))
    with pytest.raises(ReadError, match=r"35 frames with no scan shape") as err:
        open_4dstem(tmp_path / "s.npy")
    assert "--scan-shape" in user_message(err.value, "cli")
    assert "'scan rows'" in user_message(err.value, "gui")
    ds = open_4dstem(tmp_path / "s.npy", scan_shape=(5, 7))
    np.testing.assert_array_equal(ds.data.compute(), cube)
    with pytest.raises(ReadError, match="does not match"):
        open_4dstem(tmp_path / "s.npy", scan_shape=(6, 6))


def test_truncated_npy_is_a_clear_error(tmp_path, cube):
    np.save(tmp_path / "t.npy", cube)
    raw = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ReadError, match="truncated"):
        open_4dstem(tmp_path / "t.npy")


def test_zarr_keeps_calibration(tmp_path, cube):
    z = zarr.open_array(str(tmp_path / "d.zarr"), mode="w", shape=cube.shape, dtype=cube.dtype,
                        chunks=(1, 7, 12, 10))
    z[:] = cube
    z.attrs.update(mrad_per_px=0.8, scan_step_nm=0.2)
    ds = open_4dstem(tmp_path / "d.zarr")
    np.testing.assert_array_equal(ds.data.compute(), cube)
    assert ds.calibration.mrad_per_px == 0.8 and ds.calibration.scan_step_nm == 0.2


def test_multipage_tiff(tmp_path, cube):
    tifffile.imwrite(tmp_path / "stack.tif", cube.reshape(35, 12, 10))
    ds = open_4dstem(tmp_path / "stack.tif", scan_shape=(5, 7))
    np.testing.assert_array_equal(ds.data.compute(), cube)
    np.testing.assert_array_equal(ds.pattern(2, 3), cube[2, 3])


def test_tiff_folder_natural_order_and_square(tmp_path):
    frames = np.arange(16 * 4 * 4, dtype=np.uint16).reshape(16, 4, 4)
    for i, f in enumerate(frames):  # names that sort wrongly as plain strings
        tifffile.imwrite(tmp_path / f"pos_{i}.tif", f)
    ds = open_4dstem(tmp_path)
    assert ds.scan_shape == (4, 4) and ds.format == "tiff-folder"
    np.testing.assert_array_equal(ds.data.compute(), frames.reshape(4, 4, 4, 4))
    np.testing.assert_array_equal(ds.pattern(2, 3), frames[11])
    assert can_open(tmp_path)


def test_tiff_folder_not_square_needs_scan_shape(tmp_path):
    for i in range(6):
        tifffile.imwrite(tmp_path / f"{i:03d}.tiff", np.full((3, 3), i, np.uint8))
    with pytest.raises(ReadError, match="scan_shape=\\(ROWS, COLS\\)"):
        open_4dstem(tmp_path)
    ds = open_4dstem(tmp_path, scan_shape=(2, 3))
    assert ds.pattern(1, 0)[0, 0] == 3


def test_hdf5_dataset_choice(tmp_path, cube):
    with h5py.File(tmp_path / "d.h5", "w") as f:
        f["a/data"] = cube
        f["b/other"] = cube[:2]
    with pytest.raises(ReadError, match="a/data"):
        open_4dstem(tmp_path / "d.h5")
    ds = open_4dstem(tmp_path / "d.h5", dataset="a/data")
    np.testing.assert_array_equal(ds.pattern(3, 1), cube[3, 1])
    np.testing.assert_array_equal(ds.data.compute(), cube)


def test_missing_and_unsupported(tmp_path):
    with pytest.raises(ReadError, match="no such file"):
        open_4dstem(tmp_path / "absent.npy")
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(UnsupportedFormatError, match="unsupported file type"):
        open_4dstem(tmp_path / "x.txt")
    assert not can_open(tmp_path / "x.txt")


def test_wrong_dimensionality(tmp_path):
    np.save(tmp_path / "img.npy", np.zeros((8, 8)))
    with pytest.raises(ReadError, match="dimensions"):
        open_4dstem(tmp_path / "img.npy")


def test_big_endian_npy_becomes_native(tmp_path, cube):
    np.save(tmp_path / "be.npy", cube.astype(">u2"))
    ds = open_4dstem(tmp_path / "be.npy")
    assert ds.data.dtype.isnative
    np.testing.assert_array_equal(ds.data.compute(), cube)
    np.testing.assert_array_equal(ds.pattern(0, 1), cube[0, 1])


def test_rgb_tiff_is_rejected_clearly(tmp_path):
    tifffile.imwrite(tmp_path / "rgb.tif", np.zeros((4, 8, 8, 3), np.uint8), photometric="rgb")
    with pytest.raises(ReadError, match="TIFF layout|2-D image"):
        open_4dstem(tmp_path / "rgb.tif", scan_shape=(2, 2))


def test_a_npy_opens_and_streams_without_importing_dask(tmp_path, cube):
    """`ferromap com` on a .npy never needs dask (its import alone took a second); the dask
    array is still there, made on first use, chunked as `describe()` says."""
    import json
    import subprocess
    import sys

    np.save(tmp_path / "d.npy", cube)
    script = (
        "import json, sys\n"
        "from ferromap.io import open_4dstem\n"
        "from ferromap.pipelines.com import compute_com_maps\n"
        f"ds = open_4dstem({str(tmp_path / 'd.npy')!r})\n"
        "compute_com_maps(ds)\n"
        "described = ds.describe()['chunks']\n"
        "assert 'dask' not in sys.modules, 'dask was imported'\n"
        "print(json.dumps([described, list(ds.data.chunksize), type(ds.data).__module__]))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    described, made, module = json.loads(out.stdout)
    assert described == made and module.startswith("dask")
