from __future__ import annotations

import pytest

from ferromap.errors import FerromapError
from ferromap.labelling import read_label_file, write_label_file


def test_round_trip(tmp_path):
    labels = {(1, 2): 0, (3, 4): 2}
    write_label_file(tmp_path / "labels.json", labels, ["none", "vertical", "horizontal"])
    assert read_label_file(tmp_path / "labels.json") == (labels, ["none", "vertical", "horizontal"])


@pytest.mark.parametrize("text", ["not json", '{"classes": ["a"]}', '{"classes": ["a", "b"], '
                                  '"labels": [[0, 0, 5]]}'])
def test_bad_files_give_a_clear_error(tmp_path, text):
    path = tmp_path / "labels.json"
    path.write_text(text)
    with pytest.raises(FerromapError, match="labels.json"):
        read_label_file(path)
