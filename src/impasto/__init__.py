"""impasto: neural style transfer (Gatys, Ecker & Bethge 2015) that is fast on an ordinary CPU.

``impasto.stylize(content, styles, StyleConfig(...), progress=...)`` is the entry point; the
names below are imported on first use so that ``impasto --help`` does not wait for torch.
"""

__version__ = "0.1.0"

_EXPORTS = {
    "stylize": "stylize",
    "Progress": "stylize",
    "Interrupted": "stylize",
    "StyleConfig": "config",
    "load_image": "image",
    "save_image": "image",
    "load_masks": "regions",
    "ImpastoError": "errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'impasto' has no attribute {name!r}")
