"""Pure array kernels (numpy): CoM, virtual images, crops, descan, streaming. No torch, no Qt."""

from ferromap.core.background import estimate_background
from ferromap.core.com import center_of_mass, com_from_moments, com_matrix
from ferromap.core.crop import extract_crops, minmax_normalize, model_input
from ferromap.core.descan import DescanFit, fit_descan
from ferromap.core.hotpixels import find_hot_pixels, repair_index
from ferromap.core.rotation import estimate_rotation
from ferromap.core.shift import com_shift, magnitude_angle, rotate_vectors
from ferromap.core.stream import Buffer, Kernel, linear_statistics, run
from ferromap.core.virtual import annulus_mask, estimate_bf_disk, virtual_image

__all__ = [
    "Buffer",
    "DescanFit",
    "Kernel",
    "annulus_mask",
    "center_of_mass",
    "com_from_moments",
    "com_matrix",
    "com_shift",
    "estimate_background",
    "estimate_bf_disk",
    "estimate_rotation",
    "extract_crops",
    "find_hot_pixels",
    "fit_descan",
    "linear_statistics",
    "magnitude_angle",
    "minmax_normalize",
    "model_input",
    "repair_index",
    "rotate_vectors",
    "run",
    "virtual_image",
]
