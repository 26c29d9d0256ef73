"""The lazy frame source reads only what a slice touches and pickles for workers."""

from __future__ import annotations

import pickle

import numpy as np

from ferromap.io.lazy import FrameSource, scan_chunks


def test_scan_chunks_keep_patterns_whole():
    assert scan_chunks((128, 128, 256, 256), 2, 32 * 2**20) == (2, 128, 256, 256)
    assert scan_chunks((4, 1000, 512, 512), 4, 32 * 2**20) == (1, 32, 512, 512)


def test_source_reads_only_requested_frames():
    frames = np.arange(6 * 5 * 4, dtype=np.int32).reshape(30, 2, 2)
    calls = []

    def read_range(a, b):
        calls.append((a, b))
        return frames[a:b]

    src = FrameSource((6, 5), (2, 2), np.int32, read_range)
    np.testing.assert_array_equal(src[3, 2], frames[17])
    assert calls == [(17, 18)]
    full = frames.reshape(6, 5, 2, 2)
    np.testing.assert_array_equal(src[-1, ::2, 1], full[-1, ::2, 1])
    np.testing.assert_array_equal(src[1:4, 1:3], full[1:4, 1:3])
    np.testing.assert_array_equal(src.to_dask((2, 5, 2, 2)).compute(), full)


def test_sources_pickle(tmp_path):
    from ferromap.io import open_4dstem

    np.save(tmp_path / "d.npy", np.ones((2, 2, 4, 4), np.uint16))
    ds = open_4dstem(tmp_path / "d.npy")
    clone = pickle.loads(pickle.dumps(ds.data))
    assert clone.sum().compute() == 64
