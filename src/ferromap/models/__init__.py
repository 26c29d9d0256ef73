"""Models: Conv/ResNet/VGG encoders with classification, regression or prototype heads, and
PCA+kNN; safe model files (safetensors / npz + JSON).

torch and scikit-learn are imported only when a network is built or loaded, so importing
this package (and the napari plugin menu) stays fast.
"""

from ferromap.models.prediction import Prediction
from ferromap.models.store import (
    DEVICES,
    PRECISIONS,
    SHIPPED,
    LoadedModel,
    ModelFileError,
    ModelInfo,
    load_model,
    resolve_device,
    save_model,
)

__all__ = [
    "DEVICES",
    "PRECISIONS",
    "SHIPPED",
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


def __getattr__(name: str):
    if name == "PolarizationNet":
        from ferromap.models.network import PolarizationNet

        return PolarizationNet
    if name == "PcaKnn":
        from ferromap.models.pca_knn import PcaKnn

        return PcaKnn
    raise AttributeError(f"module 'ferromap.models' has no attribute {name!r}")
