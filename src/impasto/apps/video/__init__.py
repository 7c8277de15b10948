"""``impasto video``: paint a clip frame by frame without flicker (Ruder et al. 2016).

clip (what to paint, checked and planned) -> painter (the frame loop: flow, warped start,
temporal cost) -> workdir (finished frames on disk, so a stopped run resumes) -> eta (time
left over frames). The command line's shell is ``apps/cli/video.py``.
"""
