"""Pure array kernels (numpy/dask): CoM, virtual images, crops, rotation. No torch, no Qt."""

from ferromap.core.com import center_of_mass, com_from_moments, com_matrix
from ferromap.core.crop import crop_origin, crop_patterns, minmax_normalize
from ferromap.core.hotpixels import find_hot_pixels
from ferromap.core.rotation import estimate_rotation
from ferromap.core.shift import com_shift, magnitude_angle, reference_plane, rotate_vectors
from ferromap.core.stream import linear_statistics, map_patterns
from ferromap.core.virtual import annulus_mask, estimate_bf_disk, virtual_image

__all__ = [
    "annulus_mask",
    "center_of_mass",
    "com_from_moments",
    "com_matrix",
    "com_shift",
    "crop_origin",
    "crop_patterns",
    "estimate_bf_disk",
    "estimate_rotation",
    "find_hot_pixels",
    "linear_statistics",
    "magnitude_angle",
    "map_patterns",
    "minmax_normalize",
    "reference_plane",
    "rotate_vectors",
    "virtual_image",
]
