"""What the network sees: ``analysis`` computes it, ``figures`` draws it.

The names below are the public ones, so that ``impasto.explain.top_patches`` and
``impasto.explain.units_grid`` both work.
"""

from .analysis import (
    PATCH_SIZE,
    RECONSTRUCT_ITERATIONS,
    RECONSTRUCT_SIZE,
    STYLE_SIZE,
    Patch,
    Reconstructions,
    Step,
    StyleMatrices,
    UnitPatches,
    network_for,
    patch_box,
    receptive_field,
    reconstruct_content,
    reconstruct_layers,
    reconstruct_style,
    style_matrices,
    top_patches,
)
from .figures import layers_figure, style_heatmaps, units_grid

__all__ = [
    "PATCH_SIZE", "RECONSTRUCT_ITERATIONS", "RECONSTRUCT_SIZE", "STYLE_SIZE",
    "Patch", "Reconstructions", "Step", "StyleMatrices", "UnitPatches", "layers_figure",
    "network_for", "patch_box", "receptive_field", "reconstruct_content", "reconstruct_layers",
    "reconstruct_style", "style_heatmaps", "style_matrices", "top_patches", "units_grid",
]  # fmt: skip
