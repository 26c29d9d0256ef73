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

#: Whole-number settings and their least value (``max_train`` may also be unset).
_INT_MIN = {"seed": 0, "epochs": 1, "patience": 1, "batch_size": 1, "crop_size": 8,
            "max_train": 1, "bank_positions": 1, "bank_repeats": 1, "bank_val_every": 3,
            "bank_val_repeats": 1, "bank_scans": 1, "bank_group": 1, "distill_epochs": 0}
_OPTIONAL = {"max_train"}
_FLOAT_RANGE = {"lr": (0.0, 10.0), "weight_decay": (0.0, 10.0), "val_fraction": (0.0, 0.9)}


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

    def __post_init__(self) -> None:
        """Refuse values of the wrong type or range before any data is read."""
        for name, low in _INT_MIN.items():
            value = getattr(self, name)
            if value is None and name in _OPTIONAL:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise FerromapError(f"config: {name} must be a whole number >= {low}, got "
                                    f"{value!r}")
        for name, (low, high) in _FLOAT_RANGE.items():
            value = getattr(self, name)
            if isinstance(value, str):  # YAML 1.1 reads 1e-3 as text
                try:
                    value = float(value)
                    setattr(self, name, value)
                except ValueError:
                    pass
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not low <= value <= high or (name == "lr" and value == 0):
                raise FerromapError(f"config: {name} must be a number in [{low}, {high}]"
                                    f"{' above 0' if name == 'lr' else ''}, got {value!r}")
        for name in ("augment", "filter", "calibrate"):
            if not isinstance(getattr(self, name), bool):
                raise FerromapError(f"config: {name} must be true or false, got "
                                    f"{getattr(self, name)!r}")
        for name in ("augment_params", "encoder_kwargs", "nuisances"):
            if not isinstance(getattr(self, name), dict):
                raise FerromapError(f"config: {name} must be a table of settings, got "
                                    f"{getattr(self, name)!r}")
        if not isinstance(self.train, list) or not all(isinstance(p, str) for p in self.train):
            raise FerromapError(f"config: train must be a list of paths, got {self.train!r}")

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
