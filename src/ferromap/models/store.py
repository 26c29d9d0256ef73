"""Model files: one folder per model, loadable without executing code.

``NAME/model.json``: schema name and version, kind, class names and angles, crop size,
``mrad_per_px``, normalisation, architecture, training record and out-of-distribution
statistics. ``NAME/weights.safetensors`` (per-pattern torch models, whose prototypes are a
buffer in it, and scan-context models) or ``NAME/pca_knn.npz`` (arrays only, read with
``allow_pickle=False``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import numpy as np

from ferromap.classes import ClassSet
from ferromap.errors import FerromapError
from ferromap.models.calibration import check_confidence_spec
from ferromap.models.prediction import Prediction
from ferromap.models.symmetry import GROUPS, symmetrized_predict, usable_ops

SCHEMA = "ferromap-model"
VERSION = 1
#: Models shipped inside the package, by name; the first is the default.
SHIPPED = ("context", "conv-proto", "pca-knn")
#: Model kinds: per-pattern networks, scan-context networks, PCA + kNN.
KINDS = ("torch", "context", "pca-knn")
#: Devices a model can run on (``auto``: CUDA when available).
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


class ModelFileError(FerromapError):
    """A model file is missing, of another schema, truncated or not ours."""


@dataclass
class ModelInfo:
    """What a model file says about itself (``model.json``)."""

    name: str
    kind: str  # "torch" (per pattern), "context" (scan context) or "pca-knn"
    classes: ClassSet
    crop_size: int = 64
    mrad_per_px: float | None = None
    normalisation: str = "minmax"
    architecture: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    ood: dict = field(default_factory=dict)
    symmetry: str = "none"  # point group of the material (ferromap.models.symmetry)
    calibration: dict = field(default_factory=dict)  # {"temperature": {"1": T, "8": T}}
    symmetrize_default: bool = True  # average over the point group unless told otherwise

    @property
    def calibrated(self) -> bool:
        """Whether the file holds a confidence calibration (a temperature per pass count)."""
        return bool(self.calibration.get("temperature"))

    def temperature(self, passes: int) -> float | None:
        """The fitted temperature for predictions made with ``passes`` orientations."""
        return self.calibration.get("temperature", {}).get(str(passes))

    def confidence_map(self, passes: int) -> dict | None:
        """The fitted probability-of-being-right regression for ``passes`` orientations."""
        return self.calibration.get("confidence", {}).get(str(passes))

    def to_json(self) -> dict:
        """The ``model.json`` content."""
        return {"schema": SCHEMA, "version": VERSION, "name": self.name, "kind": self.kind,
                "classes": self.classes.to_dict(), "crop_size": self.crop_size,
                "mrad_per_px": self.mrad_per_px, "normalisation": self.normalisation,
                "architecture": self.architecture, "training": self.training, "ood": self.ood,
                "symmetry": self.symmetry, "calibration": self.calibration,
                "symmetrize_default": self.symmetrize_default}

    @classmethod
    def from_json(cls, d: dict, where: str) -> ModelInfo:
        """Validate and parse ``model.json``."""
        if not isinstance(d, dict) or d.get("schema") != SCHEMA:
            raise ModelFileError(f"{where}: not a ferromap model (schema {d.get('schema')!r})"
                                 if isinstance(d, dict) else f"{where}: not a ferromap model")
        if d.get("version") != VERSION:
            raise ModelFileError(f"{where}: model schema version {d.get('version')} is not "
                                 f"supported (this ferromap reads version {VERSION})")
        symmetry = d.get("symmetry", "none")
        if not isinstance(symmetry, str) or symmetry not in GROUPS:
            raise ModelFileError(f"{where}: unknown symmetry {symmetry!r}")
        calibration = d.get("calibration", {})
        temps = calibration.get("temperature", {}) if isinstance(calibration, dict) else None
        if not isinstance(temps, dict) or not all(
                isinstance(t, (int, float)) and t > 0 for t in temps.values()):
            raise ModelFileError(f"{where}: malformed calibration {calibration!r}")
        maps = calibration.get("confidence", {})
        if not isinstance(maps, dict) or not all(check_confidence_spec(m) for m in maps.values()):
            raise ModelFileError(f"{where}: malformed confidence calibration {maps!r}")
        try:
            return cls(d["name"], d["kind"], ClassSet.from_dict(d["classes"]), int(d["crop_size"]),
                       d.get("mrad_per_px"), d.get("normalisation", "minmax"),
                       d.get("architecture", {}), d.get("training", {}), d.get("ood", {}),
                       symmetry, calibration, bool(d.get("symmetrize_default", True)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{where}: malformed model.json ({exc})") from None


def resolve_precision(precision: str, device: str) -> str:
    """``"auto"`` → bf16 on CPUs with native bfloat16 (AVX512-BF16/AMX), else fp32.

    On this project's CPU, bf16 nearly doubles conv-proto throughput and agrees with fp32 on
    >= 99.7 % of labels (benchmarks/bench_inference.py records both).
    """
    if precision != "auto":
        return precision
    import torch

    if device == "cpu" and torch.backends.mkldnn.is_available():
        try:
            return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"
        except (AttributeError, RuntimeError):
            return "fp32"
    return "fp32"


def resolve_device(device: str = "auto") -> str:
    """``"auto"`` → ``"cuda"`` when available else ``"cpu"``; a clear error for absent CUDA."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise FerromapError("CUDA was requested but no CUDA GPU is available to torch",
                            cli_hint="use --device cpu or auto",
                            gui_hint="choose the device cpu or auto")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise FerromapError(f"unknown device {device!r}; use auto, cpu or cuda")
    return device


class LoadedModel:
    """A model ready for inference: ``predict(crops) -> Prediction``.

    Parameters
    ----------
    info : ModelInfo
        The model's description.
    net : PolarizationNet or PcaKnn
        The fitted model.
    device : str
        ``"cpu"`` or ``"cuda"`` (torch models).
    precision : {"fp32", "bf16"}
        Compute type of the encoder; the input standardisation always runs in fp32.
    symmetrize : bool
        Combine the predictions of every orientation of the material's point group
        (``info.symmetry``; |G| forward passes per pattern). More accurate, |G| times slower;
        no effect for ``symmetry = "none"``.
    """

    def __init__(self, info: ModelInfo, net, device: str = "cpu", precision: str = "fp32",
                 symmetrize: bool = True) -> None:
        if precision not in PRECISIONS[1:]:
            raise FerromapError(f"unknown precision {precision!r}; use fp32, bf16 or fp16")
        self.info, self.net, self.device, self.precision = info, net, device, precision
        self.symmetry_ops = usable_ops(info.symmetry, info.classes) if symmetrize else []
        # Patterns per forward pass: small batches stay in the CPU caches (benchmarks/
        # bench_inference.py compares 32, 64, 128 and 256); large ones fill a GPU.
        self.batch_size = 32 if device == "cpu" else 2048
        # Where the streaming kernels compute for this model: None (numpy on the host
        # threads), or a TorchNamespace on the model's GPU (raw blocks are uploaded).
        self.xp = None
        if info.kind == "torch":
            import torch

            self.net = net.to(device).eval().to(memory_format=torch.channels_last)
        elif info.kind == "context":
            self.net = net.to(device).eval()
        if info.kind in ("torch", "context"):
            from ferromap.models.device import namespace

            self.xp = namespace(device)
        self._feature_ops = None

    @property
    def reads_scans(self) -> bool:
        """Whether the model reads a scan's feature maps (a scan-context network, or PCA +
        kNN of their polar statistics) instead of single crops."""
        return self.info.kind == "context" or self.info.architecture.get("reads") == "scans"

    @property
    def passes(self) -> int:
        """Forward passes per pattern (the size of the symmetry group averaged over)."""
        return max(1, len(self.symmetry_ops))

    def predict(self, crops, batch: int | None = None, *,
                calibrate: bool = True) -> Prediction:
        """Predict ``(n, S, S)`` min-max-normalised crops, a numpy array or a tensor on the
        model's device (``batch`` defaults to ``self.batch_size``). With ``calibrate`` the
        probabilities are tempered by the model file's fitted temperature for this number of
        passes, and the confidence is the probability of being right, from the file's fitted
        confidence regression (:mod:`ferromap.models.calibration`) where it has one."""
        if self.reads_scans:
            raise FerromapError(f"model {self.info.name} reads whole scans (predict_map), "
                                "not single crops")
        if crops.ndim != 3 or tuple(crops.shape[1:]) != (self.info.crop_size,) * 2:
            raise FerromapError(f"model {self.info.name} expects (n, {self.info.crop_size}, "
                                f"{self.info.crop_size}) crops, got {tuple(crops.shape)}")
        if len(self.symmetry_ops) > 1:
            pred = symmetrized_predict(lambda c: self._predict_once(c, batch), crops,
                                       self.symmetry_ops)
        else:
            pred = self._predict_once(crops, batch)
        if not calibrate:
            return pred
        return pred.calibrated(self.info.temperature(self.passes),
                               self.info.confidence_map(self.passes))

    def predict_map(self, features: np.ndarray, step_A: float, *,
                    calibrate: bool = True) -> Prediction:
        """Class probabilities at every position of a scan's feature map (context models).

        Parameters
        ----------
        features : numpy.ndarray
            ``(rows, cols, K)`` from :class:`ferromap.core.features.FeatureKernel`.
        step_A : float
            The scan step in Å.
        calibrate : bool
            Temper the probabilities and give the probability of being right, as
            :meth:`predict` does.

        Returns
        -------
        Prediction
            One row per position, in row-major order.
        """
        from ferromap.core.features import RingHarmonics
        from ferromap.models.context import feature_ops, predict_map, predict_map_knn

        if not self.reads_scans:
            raise FerromapError(f"model {self.info.name} reads single crops, not feature maps")
        arch = self.info.architecture
        basis = RingHarmonics.from_dict(arch["features"])
        if features.ndim != 3 or features.shape[-1] != basis.n_features:
            raise FerromapError(f"model {self.info.name} expects (rows, cols, "
                                f"{basis.n_features}) features, got {features.shape}")
        if self.info.kind == "pca-knn":
            pred = predict_map_knn(self.net, features, float(step_A), float(arch["sampling_A"]),
                                   basis, int(arch["window_px"]))
        else:
            if self._feature_ops is None:
                group = self.info.symmetry if self.symmetry_ops else "none"
                self._feature_ops = feature_ops(basis, group, self.info.classes)
            pred = predict_map(self.net, features, float(step_A), float(arch["sampling_A"]),
                               self._feature_ops, self.device)
        if not calibrate:
            return pred
        return pred.calibrated(self.info.temperature(self.passes),
                               self.info.confidence_map(self.passes))

    def _predict_once(self, crops: np.ndarray, batch: int | None) -> Prediction:
        batch = batch or self.batch_size
        if self.info.kind == "pca-knn":
            return self.net.predict(crops)
        import torch

        probs, dists = [], []
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.precision)
        autocast = torch.autocast(self.device.split(":")[0], dtype=dtype or torch.float32,
                                  enabled=dtype is not None)
        cuda = self.device.startswith("cuda")
        for s in range(0, len(crops), batch):
            if isinstance(crops, torch.Tensor):  # cropped on the device already
                x = crops[s : s + batch].to(self.device, torch.float32)[:, None]
            else:
                x = torch.from_numpy(np.ascontiguousarray(crops[s : s + batch], np.float32))
                x = x[:, None]
                if cuda:  # pinned host memory: the copy overlaps with the other threads' work
                    x = x.pin_memory().to(self.device, non_blocking=True)
            x = x.contiguous(memory_format=torch.channels_last)
            with autocast:
                p, d = self.net.predict_tensor(x)
            probs.append(p.float().cpu().numpy())
            dists.append(d.float().cpu().numpy())
        if not probs:
            n = len(self.info.classes)
            return Prediction(np.zeros((0, n), np.float32), np.zeros(0, np.float32))
        return Prediction(np.concatenate(probs), np.concatenate(dists))


def save_model(path: str | Path, net, info: ModelInfo) -> Path:
    """Write a model folder atomically (replacing an existing one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        if info.kind in ("torch", "context"):
            from safetensors.torch import save_file

            save_file({k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()},
                      str(tmp / "weights.safetensors"))
        else:
            np.savez_compressed(tmp / "pca_knn.npz", **net.arrays())
        (tmp / "model.json").write_text(json.dumps(info.to_json(), indent=2) + "\n")
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def shipped_model_path(name: str) -> Path:
    """Folder of a model shipped inside the package."""
    return Path(str(files("ferromap") / "models" / "weights" / name))


def read_model_info(name_or_path: str | Path) -> ModelInfo:
    """The ``model.json`` of a shipped model or a model folder (no weights are read)."""
    path = shipped_model_path(str(name_or_path)) if str(name_or_path) in SHIPPED \
        else Path(name_or_path)
    meta = path / "model.json" if path.is_dir() else None
    if meta is None or not meta.exists():
        raise ModelFileError(f"{path}: not a ferromap model folder (no model.json); shipped "
                             f"models: {', '.join(SHIPPED)}")
    try:
        return ModelInfo.from_json(json.loads(meta.read_text()), str(path))
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}/model.json is not valid JSON ({exc})") from None


def load_model(name_or_path: str | Path, device: str = "auto", precision: str = "auto",
               symmetrize: bool | None = None) -> LoadedModel:
    """Load a shipped model (``"conv-proto"``, ``"pca-knn"``) or a model folder.

    ``precision`` is ``"fp32"``, ``"bf16"`` (encoder in bfloat16) or ``"auto"``
    (:func:`resolve_precision`). ``symmetrize`` averages over the model's point group
    (:class:`LoadedModel`); ``None`` takes the model file's default.

    Raises
    ------
    ModelFileError
        Missing, foreign, truncated or wrong-schema files. Nothing in the file is executed:
        weights are safetensors, PCA+kNN arrays are read with ``allow_pickle=False``.
    FerromapError
        An unknown precision (whatever the model).
    """
    if precision not in PRECISIONS:
        raise FerromapError(f"unknown precision {precision!r}; use {', '.join(PRECISIONS)}")
    path = shipped_model_path(str(name_or_path)) if str(name_or_path) in SHIPPED \
        else Path(name_or_path)
    info = read_model_info(name_or_path)
    if symmetrize is None:
        symmetrize = info.symmetrize_default
    if info.kind == "pca-knn":
        if info.architecture.get("reads") == "scans":
            try:
                _check_scan_architecture(info.architecture)
            except (KeyError, TypeError, ValueError) as exc:
                raise ModelFileError(f"{path}/model.json: cannot read its scan architecture "
                                     f"({type(exc).__name__}: {exc})") from None
        return LoadedModel(info, _load_pca_knn(path / "pca_knn.npz"), symmetrize=symmetrize)
    if info.kind not in KINDS:
        raise ModelFileError(f"{path}: unknown model kind {info.kind!r}")
    device = resolve_device(device)
    if info.kind == "context":
        return LoadedModel(info, _load_context(path / "weights.safetensors", info), device,
                           "fp32", symmetrize)
    return LoadedModel(info, _load_torch(path / "weights.safetensors", info), device,
                       resolve_precision(precision, device), symmetrize)


def _load_pca_knn(path: Path):
    from ferromap.models.pca_knn import PcaKnn

    try:
        with np.load(path, allow_pickle=False) as arrays:
            return PcaKnn.from_arrays(arrays)
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise ModelFileError(f"{path}: cannot read PCA+kNN arrays ({exc})") from None


def _load_torch(path: Path, info: ModelInfo):
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from ferromap.models.network import PolarizationNet

    arch = info.architecture
    try:
        net = PolarizationNet(arch["encoder"], arch["head"], info.classes,
                              arch.get("encoder_kwargs", {}), arch.get("input_norm", "none"),
                              arch.get("size", info.crop_size))
        net.load_state_dict(load_file(str(path)), strict=True)
    except (SafetensorError, OSError, KeyError, RuntimeError, ValueError) as exc:
        raise ModelFileError(f"{path}: cannot load the weights ({str(exc).splitlines()[0]})") \
            from None
    return net


def _check_scan_architecture(arch: dict) -> None:
    """What a model that reads scans reads (feature basis, sampling, steps), checked when it
    loads rather than when it predicts."""
    from ferromap.core.features import RingHarmonics

    lo, hi = (float(v) for v in arch["scan_step_range_A"])
    if not (float(arch["sampling_A"]) > 0 and 0 < lo < hi):
        raise ValueError("sampling_A and scan_step_range_A must be positive")
    basis = RingHarmonics.from_dict(arch["features"])
    if "n_features" in arch and basis.n_features != int(arch["n_features"]):
        raise ValueError("the feature basis does not match n_features")
    if "window_px" in arch and not int(arch["window_px"]) > 0:
        raise ValueError("window_px must be positive")


def _load_context(path: Path, info: ModelInfo):
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from ferromap.models.context import ContextNet

    arch = info.architecture
    try:
        net = ContextNet(int(arch["n_features"]), len(info.classes), int(arch["width"]),
                         tuple(int(d) for d in arch["dilations"]))
        _check_scan_architecture(arch)
        net.load_state_dict(load_file(str(path)), strict=True)
    except (SafetensorError, OSError, KeyError, RuntimeError, ValueError, TypeError) as exc:
        raise ModelFileError(f"{path}: cannot load the weights ({str(exc).splitlines()[0]})") \
            from None
    return net
