"""Labelling workflow for new materials (the boracite paper's, generalised). No Qt here.

* :mod:`.sampler` proposes positions: a coarse grid, then midpoints across domain walls;
* :mod:`.store` saves and loads the labels (JSON beside the dataset);
* :mod:`.session` is the interactive state (proposal, answers, undo, label map) that the
  napari "Label positions" mode drives;
* :mod:`.train` trains a classifier on the labels (or fine-tunes a shipped model) and maps
  the whole scan.
"""

from ferromap.labelling.sampler import (
    AdaptiveSampler,
    boundary_midpoints,
    grid_positions,
    random_positions,
    run_sampling,
)
from ferromap.labelling.session import LabelSession
from ferromap.labelling.store import read_label_file, write_label_file
from ferromap.labelling.train import (
    label_count_warning,
    labelled_crops,
    probability_rgb,
    train_on_labels,
)

__all__ = ["AdaptiveSampler", "LabelSession", "boundary_midpoints", "grid_positions",
           "label_count_warning", "labelled_crops", "probability_rgb", "random_positions",
           "read_label_file", "run_sampling", "train_on_labels", "write_label_file"]
