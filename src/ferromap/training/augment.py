"""Training-only augmentation of min-max-normalised crops (never applied at inference).

Order per crop:

1. NEW random descan: a sub-pixel shift of up to ``max_descan_px`` (p = 0.5);
2. NEW shot noise: Poisson counts at a dose drawn log-uniformly from ``dose_range``
   (electrons in the crop), then min-max renormalised (p = 0.5);
3. albumentations, as in the KNN paper but with explicit parameters:

   * GaussianBlur, σ ~ U(2, 5), kernel sized from σ (p = 0.5; a symmetric blur keeps the CoM);
   * RandomBrightnessContrast(±0.15, ±0.15) (p = 0.3);
   * GaussNoise with standard deviation 1-5 % of the [0, 1] range, zero mean. The published
     code used the library default (p = 0.2), which changed between versions and is far too
     strong on [0, 1] images. OFF by default (``p_gauss_noise = 0``): with it the Conv model
     stays at or near chance in short runs while Poisson shot noise, the physical noise of a counting
     detector, does not (docs/ablation.md, benchmarks/ablation_training.py). Set
     ``p_gauss_noise`` to use it.

4. min-max renormalisation. Inference inputs are always min-max normalised, so training
   inputs must be too; brightness/contrast then acts only through the clipping it causes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import shift as nd_shift

from ferromap.core.crop import minmax_normalize


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation parameters (see the module docstring)."""

    p_blur: float = 0.5
    blur_sigma: tuple[float, float] = (2.0, 5.0)
    p_brightness_contrast: float = 0.3
    brightness_contrast: float = 0.15
    p_gauss_noise: float = 0.0
    gauss_noise_std: tuple[float, float] = (0.01, 0.05)
    p_shot_noise: float = 0.5
    dose_range: tuple[float, float] = (1e4, 1e6)
    p_descan: float = 0.5
    max_descan_px: float = 1.0


class Augmenter:
    """Callable ``augment(crop, rng) -> crop`` for one ``(S, S)`` float32 crop in [0, 1]."""

    def __init__(self, config: AugmentConfig = AugmentConfig()) -> None:
        import albumentations as A

        self.config = c = config
        self.pipeline = A.Compose([
            A.GaussianBlur(sigma_limit=c.blur_sigma, blur_limit=0, p=c.p_blur),
            A.RandomBrightnessContrast(brightness_limit=c.brightness_contrast,
                                       contrast_limit=c.brightness_contrast,
                                       p=c.p_brightness_contrast),
            A.GaussNoise(std_range=c.gauss_noise_std, mean_range=(0.0, 0.0),
                         p=c.p_gauss_noise),
        ], seed=None)

    def __call__(self, crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        c = self.config
        x = crop.astype(np.float32, copy=True)
        if rng.random() < c.p_descan:
            x = nd_shift(x, rng.uniform(-c.max_descan_px, c.max_descan_px, 2), order=1,
                         mode="nearest")
        if rng.random() < c.p_shot_noise:
            dose = np.exp(rng.uniform(*np.log(c.dose_range)))
            x = rng.poisson(x / max(float(x.sum()), 1e-12) * dose).astype(np.float32)
        x = minmax_normalize(x)
        self.pipeline.set_random_seed(int(rng.integers(2**31)))
        return minmax_normalize(np.clip(self.pipeline(image=x)["image"], 0.0, 1.0))
