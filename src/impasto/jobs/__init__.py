"""Jobs: the one door through which every front end paints.

A job is which files to paint, how, and where the pictures go; checked, decoded and planned
once, then run and saved. The command line, the web page, a batch's workers and a clip all
paint through here, so each gets the same checks in the same order, the same encoder, and the
same opt-ins on the process's behalf (``tune_process``; ``run`` teaching the speed store):

    job = prepare(JobSpec("photo.jpg", ("painting.jpg",), StyleConfig(size=512)))
    picture = run(job, progress=..., cancel=...)
    save(job, picture)

``spec`` (what a user asks for, output names), ``picture`` (a picture's job), ``touchup``
(paint a finished picture again at its size), ``clip``, ``frames``, ``workdir`` and ``eta``
(a clip's job: the frame loop with the temporal cost, resumable), ``weights`` (the networks'
weights as front ends show and fetch them), ``process`` (threads and the heap) and ``quick``
(``impasto.paint``: files or PIL images in, a PIL image out, for a notebook).
"""

from ..engine.budget import Estimate
from ..engine.progress import (
    Cancelled,
    CancelToken,
    Progress,
    ProgressCallback,
    duration,
    rough_duration,
)
from ..engine.schedule import describe as describe_plan
from ..network.vgg import VGGFeatures, load_network
from . import clip, frames, weights
from .clip import VideoJob, VideoSpec
from .frames import FrameProgress
from .picture import (
    Job,
    calibrate,
    encode,
    encode_file,
    encode_picture,
    paint,
    prepare,
    run,
    save,
)
from .process import cpu_model, release_memory, tune_process
from .spec import (
    STDOUT,
    JobSpec,
    PathLike,
    checked,
    default_output,
    expand_styles,
    numbered,
    output_path,
    refuse_inputs,
    snapshot_paths,
)
from .touchup import TOUCH_UP_KEEPS, TOUCH_UP_SHARE, touch_up, touch_up_iterations
from .weights import fetch_once, weights_digest

__all__ = [
    "STDOUT", "TOUCH_UP_KEEPS", "TOUCH_UP_SHARE", "CancelToken", "Cancelled", "Estimate",
    "FrameProgress", "Job", "JobSpec", "PathLike", "Progress", "ProgressCallback", "VGGFeatures",
    "VideoJob", "VideoSpec", "calibrate", "checked", "clip", "cpu_model", "default_output",
    "describe_plan", "duration", "encode", "encode_file", "encode_picture", "expand_styles",
    "fetch_once", "frames", "load_network", "numbered", "output_path", "paint", "prepare",
    "refuse_inputs", "release_memory", "rough_duration", "run", "save", "snapshot_paths",
    "touch_up", "touch_up_iterations", "tune_process", "weights", "weights_digest",
]  # fmt: skip
