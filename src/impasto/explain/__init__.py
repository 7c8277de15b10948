"""What the network sees, with the very network that stylises: ``units`` (receptive fields,
the patches that excite units most), ``style`` (Gram and correlation matrices) and
``reconstruct`` (pictures from one layer or from Gram matrices, Gatys et al. Fig. 1) compute
it as tensors, on ``networks.network_for``; ``figures`` draws it.

The names below are the public ones, so that ``impasto.explain.top_patches`` and
``impasto.explain.units_grid`` both work.
"""

from ..config import PATCH_SIZE, RECONSTRUCT_ITERATIONS, RECONSTRUCT_SIZE, STYLE_SIZE
from .figures import layers_figure, style_heatmaps, units_grid
from .networks import network_for
from .reconstruct import (
    Reconstructions,
    Step,
    reconstruct_content,
    reconstruct_layers,
    reconstruct_style,
)
from .style import StyleMatrices, style_matrices
from .units import Patch, UnitPatches, patch_box, receptive_field, top_patches

__all__ = [
    "PATCH_SIZE", "RECONSTRUCT_ITERATIONS", "RECONSTRUCT_SIZE", "STYLE_SIZE",
    "Patch", "Reconstructions", "Step", "StyleMatrices", "UnitPatches", "layers_figure",
    "network_for", "patch_box", "receptive_field", "reconstruct_content", "reconstruct_layers",
    "reconstruct_style", "style_heatmaps", "style_matrices", "top_patches", "units_grid",
]  # fmt: skip
