"""impasto: neural style transfer (Gatys, Ecker & Bethge 2015) that is fast on an ordinary CPU.

``impasto.paint("photo.jpg", "painting.jpg", size=256)`` paints files, Pillow images or
tensors and returns a Pillow image; ``impasto.stylize(content, styles, StyleConfig(...),
progress=...)`` paints tensors. Both change nothing outside their result;
``impasto.load_network(config)`` builds the network they take. ``impasto.jobs`` paints files
(prepare, run, save) as every front end does. The names below are imported on first use, so
that ``impasto --help`` does not wait for torch.
"""

__version__ = "0.2.0"

_EXPORTS = {
    "stylize": "engine.pyramid",
    "load_network": "network.vgg",
    "paint": "jobs.quick",
    "Progress": "engine.progress",
    "Cancelled": "engine.progress",
    "CancelToken": "engine.progress",
    "StyleConfig": "config",
    "load_image": "io.images",
    "save_image": "io.saving",
    "load_masks": "io.masks",
    "ImpastoError": "errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'impasto' has no attribute {name!r}")
