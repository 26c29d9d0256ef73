from __future__ import annotations

import pytest

from ferromap.errors import FerromapError
from ferromap.training.config import TrainConfig


def test_toml_and_yaml(tmp_path):
    (tmp_path / "c.toml").write_text('name = "x"\ntrain = ["a.zarr"]\nhead = "classification"\n')
    c = TrainConfig.from_file(tmp_path / "c.toml")
    assert c.head == "classification" and c.train == [str(tmp_path / "a.zarr")]
    assert c.lr == 2e-4 and c.batch_size == 128 and c.epochs == 20
    (tmp_path / "c.yaml").write_text("train: [/abs/b.zarr]\nmodel: pca-knn\n")
    assert TrainConfig.from_file(tmp_path / "c.yaml").train == ["/abs/b.zarr"]


@pytest.mark.parametrize(("text", "message"), [
    ('train = ["a"]\nlearning_rate = 1\n', "unknown keys"),
    ('name = "x"\n', "'train'"),
    ("train = [\n", "invalid config"),
])
def test_bad_configs(tmp_path, text, message):
    (tmp_path / "c.toml").write_text(text)
    with pytest.raises(FerromapError, match=message):
        TrainConfig.from_file(tmp_path / "c.toml")
