"""``impasto serve``: a local web page to paint with, live.

One idea per module: ``settings`` (StyleConfig fields as page controls and back), ``uploads``
(checked, stored inputs under random ids), ``worker`` (the one painting thread and its queue,
through ``impasto.jobs``), ``app`` (the routes), ``server`` (uvicorn on a bound socket).
Needs the ``web`` extra: ``pip install 'impasto[web]'``.
"""
