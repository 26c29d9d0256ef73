"""Models: Conv/ResNet/VGG encoders with classification, regression or prototype heads, and
PCA+kNN; safe model files (safetensors / npz + JSON)."""

from ferromap.models.network import PolarizationNet, Prediction
from ferromap.models.pca_knn import PcaKnn
from ferromap.models.store import (
    LoadedModel,
    ModelFileError,
    ModelInfo,
    load_model,
    resolve_device,
    save_model,
)

__all__ = [
    "LoadedModel",
    "ModelFileError",
    "ModelInfo",
    "PcaKnn",
    "PolarizationNet",
    "Prediction",
    "load_model",
    "resolve_device",
    "save_model",
]
