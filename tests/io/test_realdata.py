"""Every file in shared/realdata, with the shapes RosettaSciIO documents for it."""

from __future__ import annotations

import numpy as np
import pytest

from ferromap.errors import ReadError, UnsupportedFormatError
from ferromap.io import open_4dstem

HOT = "merlin/002_merlin_test_roi_sig256x128_nav4x2_hot_pixel_52x_39y.mib"


@pytest.mark.parametrize(
    ("name", "kwargs", "shape", "dtype"),
    [
        ("merlin/001_4x2_6bit.mib", {}, (2, 4, 256, 256), np.uint8),
        ("merlin/002_4x2_6bit_roi128.mib", {}, (2, 4, 128, 256), np.uint8),
        (HOT, {}, (2, 4, 128, 256), np.uint16),
        ("merlin/Single_9_Frame_CounterDepth_12_Rows_256.mib", {"scan_shape": (3, 3)},
         (3, 3, 256, 256), np.uint16),
        ("blockfile/test1.blo", {}, (3, 2, 144, 144), np.uint8),
        ("emd/py4DSTEM_size2x3x4x5.h5", {}, (2, 3, 4, 5), np.float32),
        ("emd/Si100_4D.emd", {"dataset": 1}, (11, 11, 8, 8), np.float32),
    ],
)
def test_real_files_open(realdata, name, kwargs, shape, dtype):
    ds = open_4dstem(realdata / name, **kwargs)
    assert ds.data.shape == shape
    assert ds.data.dtype == dtype
    full = ds.data.compute()
    np.testing.assert_array_equal(ds.pattern(shape[0] - 1, shape[1] - 1), full[-1, -1])


def test_merlin_raw_mode_is_unsupported(realdata):
    with pytest.raises(UnsupportedFormatError, match="unsupported.*RAW"):
        open_4dstem(realdata / "merlin/Single_1_Frame_CounterDepth_1_Rows_256RAW.mib")


def test_merlin_stack_without_scan_shape_says_what_to_pass(realdata):
    with pytest.raises(ReadError, match=r"stack of 9 frames.*scan_shape=\(ROWS, COLS\)"):
        open_4dstem(realdata / "merlin/Single_9_Frame_CounterDepth_12_Rows_256.mib")


def test_five_d_emd_lists_choices(realdata):
    with pytest.raises(ReadError, match="pass dataset=INDEX, one of 0, 1"):
        open_4dstem(realdata / "emd/Si100_4D.emd")
    a = open_4dstem(realdata / "emd/Si100_4D.emd", dataset=0).data.compute()
    b = open_4dstem(realdata / "emd/Si100_4D.emd", dataset=1).data.compute()
    assert not np.array_equal(a, b)
    typed = open_4dstem(realdata / "emd/Si100_4D.emd", dataset=" 1 ").data.compute()
    np.testing.assert_array_equal(typed, b)  # as typed on a command line or in a text box


def test_big_endian_hot_pixel_values_match_the_raw_bytes(realdata):
    """Parse the Merlin file by hand (384-byte frame headers, >u2 data) and compare.

    Merlin stores detector rows bottom-up; like RosettaSciIO and the Merlin software we show
    row 0 at the top, so the hot pixel named y=39 sits at row 128 - 1 - 39 = 88.
    """
    path = realdata / HOT
    raw = path.read_bytes()
    frame_bytes = 384 + 128 * 256 * 2
    frames = np.stack([
        np.frombuffer(raw[i * frame_bytes + 384 : (i + 1) * frame_bytes], ">u2").reshape(128, 256)
        for i in range(8)
    ])
    expected = frames[:, ::-1].reshape(2, 4, 128, 256)
    ds = open_4dstem(path)
    got = ds.data.compute()
    assert got.dtype == np.uint16 and got.dtype.isnative
    np.testing.assert_array_equal(got, expected)
    for r in range(2):
        for c in range(4):
            assert np.unravel_index(got[r, c].argmax(), (128, 256)) == (88, 52)


def test_blockfile_scan_step_calibration(realdata):
    ds = open_4dstem(realdata / "blockfile/test1.blo")
    assert ds.calibration.scan_step_nm == pytest.approx(12.8)


@pytest.mark.parametrize("name", ["001_4x2_6bit.mib", "002_4x2_6bit_roi128.mib",
                                  "002_merlin_test_roi_sig256x128_nav4x2_hot_pixel_52x_39y.mib",
                                  "Single_9_Frame_CounterDepth_12_Rows_256.mib"])
def test_merlin_direct_reader_matches_rosettasciio(realdata, name):
    from rsciio.quantumdetector import file_reader

    path = realdata / "merlin" / name
    expected = np.asarray(file_reader(str(path), lazy=False)[0]["data"])
    kwargs = {"scan_shape": (3, 3)} if expected.ndim == 3 else {}
    ds = open_4dstem(path, **kwargs)
    assert ds.read_one is not None  # single patterns bypass dask chunks
    expected = expected.reshape(ds.data.shape)
    np.testing.assert_array_equal(ds.data.compute(), expected)
    for r, c in np.ndindex(ds.scan_shape):
        np.testing.assert_array_equal(ds.pattern(r, c), expected[r, c])
