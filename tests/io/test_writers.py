from __future__ import annotations

import numpy as np
import pytest
import tifffile

from ferromap.io.writers import atomic_path, write_json, write_tiff


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "map.tif"
    write_tiff(target, np.ones((3, 3), np.float32))
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")
    np.testing.assert_array_equal(tifffile.imread(target), np.ones((3, 3)))
    assert [p.name for p in tmp_path.iterdir()] == ["map.tif"]


def test_write_json_numpy_values(tmp_path):
    write_json(tmp_path / "s.json", {"a": np.float32(1.5), "b": np.arange(3)})
    assert (tmp_path / "s.json").read_text().count("1.5") == 1


def test_atomic_files_get_the_mode_of_an_ordinary_new_file(tmp_path):
    import os

    from ferromap.io.writers import atomic_path

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    with atomic_path(tmp_path / "atomic.txt") as tmp:
        tmp.write_text("x")
    mode = os.stat(tmp_path / "atomic.txt").st_mode & 0o777
    assert mode == os.stat(plain).st_mode & 0o777
