"""Training configuration: a small TOML or YAML file.

Example (TOML)::

    name = "conv-proto"
    train = ["data/train-20nm.zarr"]      # datasets with stored labels
    model = "conv"         # conv | resnet | vgg | pca-knn | context | context-pca-knn
    head = "prototype"                     # classification | regression | prototype
    augment = true
    filter = true
    seed = 888
    epochs = 20
    out = "models/conv-proto"
    # init_from = "conv-proto"             # fine-tune a shipped model or a model folder
    # symmetry = "d4"                      # train in every orientation; average at inference
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import tomllib

from ferromap.errors import FerromapError
from ferromap.models.store import SHIPPED


@dataclass
class TrainConfig:
    """Everything a training run needs; defaults follow the KNN paper.

    ``train`` lists labelled datasets; or ``bank`` names a folder of simulation-bank entries
    (:mod:`ferromap.simulate.bank`) from which every epoch draws fresh experiment-like scans
    (:mod:`ferromap.training.synthesis`): ``bank_positions`` positions of ``bank_repeats``
    scans per entry, with ``nuisances`` overriding the nuisance ranges; of every
    ``bank_val_every`` consecutive entries the last two (one per polarization direction of
    the bank) are held out for validation and calibration. ``model = "context"`` trains the
    scan-context model (:mod:`ferromap.training.context`) on ``bank_scans`` scans drawn once
    from the bank.
    """

    train: list[str] = field(default_factory=list)
    name: str = "model"
    model: str = "conv"
    head: str = "prototype"
    augment: bool = True
    augment_params: dict = field(default_factory=dict)  # overrides of AugmentConfig fields
    filter: bool = True
    seed: int = 888
    epochs: int = 20
    patience: int = 5
    batch_size: int = 128
    lr: float = 2e-4
    weight_decay: float = 1e-4
    val_fraction: float = 0.15
    crop_size: int = 64
    encoder_kwargs: dict = field(default_factory=dict)
    input_norm: str = "sqrt-standardize"  # none (the paper) | standardize | sqrt-standardize
    device: str = "auto"
    out: str | None = None
    max_train: int | None = None  # cap on training patterns (subsampled, stratified)
    init_from: str | None = None  # start from this model's weights (fine-tuning)
    symmetry: str = "none"  # material point group: none | c2 | mm2 | d4 (models.symmetry)
    bank: str | None = None  # folder of bank entries instead of ``train``
    bank_positions: int = 256
    bank_repeats: int = 2
    bank_val_every: int = 10
    bank_val_repeats: int = 4  # scans per held-out entry for prototypes and calibration
    bank_scans: int = 4000  # context model: training scans drawn from the bank
    bank_group: int = 1  # entries per specimen and microscope (ferromap.simulate.bank.MILD: 4)
    nuisances: dict = field(default_factory=dict)  # overrides of synthesis.Nuisances
    calibrate: bool = True  # fit the confidence temperatures on the validation data
    distill_epochs: int = 0  # then distil the orientation average into one pass (distill.py)

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        """Read a ``.toml`` or ``.yaml``/``.yml`` file; relative data paths resolve from it."""
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise FerromapError(f"cannot read config {path}: {exc}") from None
        try:
            if path.suffix == ".toml":
                raw = tomllib.loads(text)
            elif path.suffix in (".yaml", ".yml"):
                import yaml

                raw = yaml.safe_load(text) or {}
            else:
                raise FerromapError(f"{path.name}: config must be .toml or .yaml")
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            raise FerromapError(f"{path.name}: invalid config ({exc})") from None
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise FerromapError(f"{path.name}: unknown keys {sorted(unknown)}; known: {sorted(known)}")
        if "train" not in raw and "bank" not in raw:
            raise FerromapError(f"{path.name}: 'train' (labelled datasets) or 'bank' (a folder "
                                "of simulation-bank entries) is required")
        base = path.parent
        raw["train"] = [str((base / p) if not Path(p).is_absolute() else p)
                        for p in raw.get("train", [])]
        for key in ("out", "init_from", "bank"):
            value = raw.get(key)
            if value and not Path(value).is_absolute() and value not in SHIPPED:
                raw[key] = str(base / value)
        return cls(**raw)
