"""``impasto serve``: a local web page to paint with, live.

One idea per module: ``main`` (the command: options, the socket, what it says), ``settings``
(StyleConfig fields as page controls and back, read by ``impasto.fields``), ``uploads``
(checked, stored inputs under random ids), ``orders`` (a request's ids and settings -> a
prepared job), ``worker`` (the one painting thread and its queue, through ``impasto.jobs``),
``serving`` (the state of one server run), ``events`` (the numbered log the page streams),
``guard`` (refuse other web sites), ``limits`` (what a request may hold), ``app`` (the
routes), ``sockets`` and ``server`` (uvicorn on a socket bound first).
Needs the ``web`` extra: ``pip install 'impasto[web]'``.
"""
