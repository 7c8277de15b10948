"""``impasto video``: paint a clip frame by frame without flicker (Ruder et al. 2016).

``main`` (its options, the run, what it says on a stop) and ``display`` (the plan, the
estimate and a bar over the frames). The clip's job itself, what to paint, the frame loop
with the temporal cost and the finished frames a stopped run resumes from, is
``impasto.jobs.clip``, ``jobs.frames`` and ``jobs.workdir``.
"""
