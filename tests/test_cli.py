"""The CLI as a user meets it: real subprocesses, one-line errors, files on disk."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import tifffile


def run(*args):
    return subprocess.run([sys.executable, "-m", "ferromap.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def disks_npy(tmp_path, disk):
    rows, cols = np.mgrid[0:6, 0:7]
    centers = np.stack([16 + 0.3 * np.sin(rows), 16 + 0.3 * np.cos(cols)], axis=-1)
    data = np.stack([[disk((32, 32), c, 6.0, value=1000) for c in row] for row in centers])
    np.save(tmp_path / "d.npy", data.astype(np.uint16))
    return tmp_path / "d.npy", centers


def test_info_json(disks_npy):
    res = run("info", disks_npy[0], "--json")
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["shape"] == [6, 7, 32, 32] and info["dtype"] == "uint16"


def test_com_writes_every_map(disks_npy, tmp_path):
    path, centers = disks_npy
    out = tmp_path / "out"
    res = run("com", path, "--out", out, "--quiet")
    assert res.returncode == 0, res.stderr
    for name in ("com_row", "com_col", "magnitude", "angle", "virtual_bf", "virtual_adf"):
        assert tifffile.imread(out / f"{name}.tif").shape == (6, 7)
    expected = centers - centers.reshape(-1, 2).mean(axis=0)
    np.testing.assert_allclose(tifffile.imread(out / "com_row.tif"), expected[..., 0], atol=0.02)
    np.testing.assert_allclose(tifffile.imread(out / "com_col.tif"), expected[..., 1], atol=0.02)
    assert (out / "com.png").stat().st_size > 10_000
    summary = json.loads((out / "com.json").read_text())
    assert summary["global_com_px"] == pytest.approx([16, 16], abs=0.2)
    again = run("com", path, "--out", out)
    assert again.returncode != 0 and "--force" in again.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["info", "missing.mib"], "no such file"),
        (["info", "{tmp}/bad.xyz"], "unsupported file type"),
        (["info", "{tmp}/img.npy"], "dimensions"),
        (["com", "{tmp}/stack.npy", "--out", "{tmp}/o"], "--scan-shape"),
        (["info", "{tmp}/garbage.npy"], "not a valid .npy"),
        (["com", "{tmp}/nan.npy", "--out", "{tmp}/o"], "no finite value (all NaN"),
        (["com", "{tmp}/img4.npy", "--out", "{tmp}/o", "--rotation", "abc"],
         "--rotation must be degrees or 'auto'"),
        (["com", "{tmp}/img4.npy", "--out", "{tmp}/bad.xyz/o"],
         "cannot create the output folder"),
        (["info", "{tmp}/img4.npy", "--scan-shape", "0", "9"], "two positive numbers"),
        (["evaluate", "sample:nothing", "--model", "conv-proto"], "unknown sample"),
    ],
)
def test_bad_input_is_one_line_without_traceback(tmp_path, args, message):
    (tmp_path / "bad.xyz").write_text("?")
    (tmp_path / "garbage.npy").write_bytes(b"\x00" * 100)
    np.save(tmp_path / "img.npy", np.zeros((4, 4)))
    np.save(tmp_path / "img4.npy", np.ones((2, 2, 8, 8)))
    np.save(tmp_path / "nan.npy", np.full((2, 2, 8, 8), np.nan, np.float32))
    np.save(tmp_path / "stack.npy", np.zeros((6, 4, 4)))
    res = run(*[a.format(tmp=tmp_path) for a in args])
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in res.stderr
    assert not (tmp_path / "o").exists()  # a failed run leaves no empty folder


def test_evaluate_reads_a_bundled_sample_and_writes_strict_json(tmp_path):
    import json

    res = run("evaluate", "sample:two-domain", "--model", "conv-proto", "--no-symmetrize",
              "--json", tmp_path / "e.json")
    assert res.returncode == 0, res.stderr
    assert "sample:two-domain: accuracy" in res.stdout
    text = (tmp_path / "e.json").read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))


def test_real_merlin_raw_is_rejected(realdata):
    res = run("info", realdata / "merlin/Single_1_Frame_CounterDepth_1_Rows_256RAW.mib")
    assert res.returncode != 0 and "unsupported" in res.stderr and "Traceback" not in res.stderr


def test_unexpected_errors_are_one_line_too(tmp_path, monkeypatch, capsys):
    from ferromap import cli

    def explode(args):
        raise KeyError("bad header field")

    monkeypatch.setattr(cli, "_open", explode)
    assert cli.main(["info", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "KeyError" in err[0] and "--debug" in err[0]
    with pytest.raises(KeyError):
        cli.main(["--debug", "info", str(tmp_path)])


def test_train_then_evaluate_a_config(tmp_path):
    from ferromap.classes import KNN8
    from ferromap.data import load_sample
    from ferromap.io.save import save_4dstem

    ds, truth = load_sample("two-domain")
    save_4dstem(tmp_path / "two.zarr", ds.data.compute(), calibration=ds.calibration,
                labels=truth, metadata={"classes": KNN8.to_dict()})
    (tmp_path / "c.toml").write_text('name = "tiny"\ntrain = ["two.zarr"]\nepochs = 1\n'
                                     'max_train = 256\naugment = false\nout = "tiny"\n')
    r = run("train", "--config", tmp_path / "c.toml")
    assert r.returncode == 0, r.stderr
    assert "cropping training data" in r.stderr and "epoch 1/1: train loss" in r.stderr
    assert (tmp_path / "tiny" / "model.json").exists() and "validation accuracy" in r.stdout
    again = run("train", "--config", tmp_path / "c.toml")
    assert again.returncode == 1 and "--force" in again.stderr
    ev = run("evaluate", "--model", tmp_path / "tiny", tmp_path / "two.zarr")
    assert ev.returncode == 0, ev.stderr


@pytest.mark.parametrize(("line", "message"), [
    ('epochs = "abc"', "epochs must be a whole number >= 1, got 'abc'"),
    ("epochs = 0", "epochs must be a whole number >= 1"),
    ("batch_size = 0", "batch_size must be a whole number >= 1"),
    ("lr = -1.0", "lr must be a number in"),
    ('augment = "yes"', "augment must be true or false"),
])
def test_a_config_value_of_the_wrong_type_is_one_line_before_any_work(tmp_path, line, message):
    (tmp_path / "c.toml").write_text(f'train = ["missing.zarr"]\n{line}\n')
    r = run("train", "--config", tmp_path / "c.toml")
    assert r.returncode == 1 and message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "cropping" not in r.stderr
