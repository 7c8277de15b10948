"""``impasto batch``: many pictures, resumable, on one machine or across many with Ray.

``plan`` makes the job list (grid, pairs, or a ``manifest``) with deterministic names; ``driver``
skips what is done, hands the rest to ``local`` worker processes or ``ray_runner`` tasks (each
painting one job with ``worker``, through ``impasto.jobs``), and writes every picture, its
``sidecar`` and the summary (``outputs`` checks first that none is an input or someone's
file); ``sheet`` draws the contact sheet. ``main`` is ``impasto batch``: it parses the options
and calls ``driver.run``; its ``--help`` imports nothing else.
"""
