"""The command line of pictures: ``impasto CONTENT STYLE...`` (``main``, ``options``,
``display``), ``impasto weights`` and ``impasto explain``."""
