"""The README's figures, each made from the repository's root as ``python -m docs.NAME``."""
