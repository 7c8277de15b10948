"""``impasto serve``: a local web page to paint with, live.

One idea per module: ``settings`` (StyleConfig fields as page controls and back), ``uploads``
(checked, stored inputs under random ids), ``orders`` (a request's ids and settings -> a
prepared job), ``worker`` (the one painting thread and its queue, through ``impasto.jobs``),
``events`` (the numbered log the page streams), ``guard`` (refuse other web sites), ``app``
(the routes), ``sockets`` and ``server`` (uvicorn on a socket bound first).
Needs the ``web`` extra: ``pip install 'impasto[web]'``.
"""
