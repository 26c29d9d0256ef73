"""PCA + kNN as in the KNN paper: flatten → StandardScaler → PCA(20) → kNN(k=5), majority vote.

It reads either crops (the paper's per-pattern model) or any fixed-length vectors, such as the
translation-invariant polar statistics of a scan's feature map
(:func:`ferromap.core.features.polar_statistics`, read by
:meth:`ferromap.models.LoadedModel.predict_map`).

Fitting uses scikit-learn; the fitted state is plain arrays (saved as ``.npz``, no pickle) and
prediction runs in numpy from those arrays, so a loaded model behaves exactly like a fitted one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferromap.models.prediction import Prediction


@dataclass
class PcaKnn:
    """Fitted PCA+kNN state.

    Attributes
    ----------
    scaler_mean, scaler_scale : numpy.ndarray
        StandardScaler parameters, ``(n_pixels,)``.
    pca_mean, components : numpy.ndarray
        PCA centring ``(n_pixels,)`` and axes ``(n_components, n_pixels)``.
    train_z : numpy.ndarray
        Training examples in PCA space ``(n_train, n_components)``.
    train_y : numpy.ndarray
        Their labels.
    n_classes, k : int
        Number of classes and neighbours.
    """

    scaler_mean: np.ndarray
    scaler_scale: np.ndarray
    pca_mean: np.ndarray
    components: np.ndarray
    train_z: np.ndarray
    train_y: np.ndarray
    n_classes: int
    k: int = 5

    @classmethod
    def fit(cls, crops: np.ndarray, labels: np.ndarray, n_classes: int, *,
            n_components: int = 20, k: int = 5, seed: int = 0,
            max_fit: int = 20_000) -> PcaKnn:
        """Fit on ``(n, S, S)`` normalised crops (or ``(n, D)`` vectors) and their labels.

        The scaler and the PCA axes are fitted on at most ``max_fit`` crops (a random subset);
        every crop is then projected, in blocks, and kept as a neighbour.
        """
        from sklearn.decomposition import PCA
        from sklearn.preprocessing import StandardScaler

        if crops.ndim not in (2, 3) or len(crops) != len(labels):
            raise ValueError("crops must be (n, S, S) or (n, D) with one label each")
        rng = np.random.default_rng(seed)
        pick = rng.choice(len(crops), min(max_fit, len(crops)), replace=False)
        x = crops[pick].reshape(len(pick), -1).astype(np.float64)
        scaler = StandardScaler().fit(x)
        pca = PCA(n_components=n_components, random_state=seed).fit(scaler.transform(x))
        scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
        model = cls(scaler.mean_.astype(np.float32), scale.astype(np.float32),
                    pca.mean_.astype(np.float32), pca.components_.astype(np.float32),
                    np.zeros((0, n_components), np.float32), labels.astype(np.int64),
                    n_classes, k)
        model.train_z = np.concatenate([model.transform(crops[s : s + 8192])
                                        for s in range(0, len(crops), 8192)])
        return model

    def transform(self, crops: np.ndarray) -> np.ndarray:
        """Project ``(n, S, S)`` crops (or ``(n, D)`` vectors) into PCA space."""
        x = crops.reshape(len(crops), -1).astype(np.float32)
        return ((x - self.scaler_mean) / self.scaler_scale - self.pca_mean) @ self.components.T

    def predict(self, crops: np.ndarray, batch: int = 256) -> Prediction:
        """Majority vote of the k nearest training examples; ``probs`` are vote fractions.

        ``batch`` queries at a time: their distances to every training example, and the
        argpartition's indices, take ``batch × n_train × 12`` bytes (about 90 MB for 28k
        examples).
        """
        if batch < 1:
            raise ValueError(f"batch must be positive, got {batch}")
        tz = self.train_z
        norms = (tz**2).sum(axis=1)
        probs = np.zeros((len(crops), self.n_classes), np.float32)
        dist = np.empty(len(crops), np.float32)
        for s in range(0, len(crops), batch):
            q = self.transform(crops[s : s + batch])
            d2 = q @ tz.T
            d2 *= -2
            d2 += norms[None, :]
            d2 += (q**2).sum(axis=1)[:, None]
            idx = np.argpartition(d2, self.k - 1, axis=1)[:, : self.k]
            votes = self.train_y[idx]
            for c in range(self.n_classes):
                probs[s : s + batch, c] = (votes == c).mean(axis=1)
            dist[s : s + batch] = np.sqrt(np.maximum(np.take_along_axis(d2, idx, 1).max(1), 0))
        return Prediction(probs, dist)

    def arrays(self) -> dict[str, np.ndarray]:
        """State as named arrays (for ``numpy.savez``)."""
        return {"scaler_mean": self.scaler_mean, "scaler_scale": self.scaler_scale,
                "pca_mean": self.pca_mean, "components": self.components,
                "train_z": self.train_z, "train_y": self.train_y,
                "n_classes": np.array(self.n_classes), "k": np.array(self.k)}

    @classmethod
    def from_arrays(cls, arrays) -> PcaKnn:
        """Inverse of :meth:`arrays`."""
        return cls(*(np.asarray(arrays[k]) for k in ("scaler_mean", "scaler_scale", "pca_mean",
                                                     "components", "train_z", "train_y")),
                   int(arrays["n_classes"]), int(arrays["k"]))
