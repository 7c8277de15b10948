"""What a painting request asks for, as a job: JSON of ids and settings -> a checked order.

The request names pictures and results by their random ids; they become the server's own
paths here, and the settings a checked StyleConfig. ``jobs.prepare`` then makes every check
the command line makes, decodes the pictures and plans the run (the estimate); the decoded
job is let go again, so that a painting waiting in the queue holds only its spec.

The brush's strokes come as a colour map the page uploaded like any picture; its id becomes
the job's one mask file, read by the loader ``--mask`` uses (``io/masks.py``). A touch-up is
planned by ``jobs.touch_up`` from the first run's spec and plan.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import jobs
from ...errors import ConfigError, ImpastoError, PaintsNowhere
from . import settings
from .settings import DEFAULT_INIT
from .worker import Order, estimate_of

if TYPE_CHECKING:
    from .serving import Serving

STROKES = "the strokes"  # a mask file's name on the page: its path is the server's
ALL_ERASED = (
    "the strokes keep the whole photo (only the eraser is left): brush a painting's colour "
    "where it should go, or clear the strokes to paint everything"
)
FORGOTTEN = (
    "touch up: its {} is no longer kept ({}: no such picture; the server keeps the latest "
    "pictures): upload it again and paint anew"
)


def job_spec(
    serving: Serving, body: dict[str, Any], output: Path
) -> tuple[jobs.JobSpec, str, dict[str, Any]]:
    """The job a request asks for, built from ids; its title and its inputs' ids."""
    store = serving.store
    content = store.get(str(body.get("content", "")))
    if content is None:
        raise ConfigError("choose a photo first (content: no such picture)")
    style_ids = body.get("styles") or []
    if not isinstance(style_ids, list) or not style_ids:
        raise ConfigError("choose at least one painting (styles)")
    styles = [store.get(str(i)) for i in style_ids]
    if any(s is None for s in styles):
        raise ConfigError("styles: no such picture")
    values = body.get("settings") or {}
    if not isinstance(values, dict):
        raise ConfigError("settings must be an object of field names and values")
    values = dict(values)
    blend = body.get("blend")
    if blend is not None and len(style_ids) > 1:
        values["style_blend"] = blend
    init, init_path = str(body.get("init") or DEFAULT_INIT), None
    if init.startswith(("picture:", "result:")):
        init_path = _init_path(serving, init)
        init = DEFAULT_INIT  # not used: the picture is the start
    config = settings.config_from(values, init, device=serving.device)
    mask_id, mask = _mask(serving, body)
    spec = jobs.JobSpec(
        content=content.path,
        styles=tuple(s.path for s in styles if s is not None),
        config=config,
        output=output,
        init=init_path,
        masks=(mask,) if mask is not None else (),
    )
    title = f"{content.name} × " + " + ".join(s.name for s in styles if s is not None)
    inputs = {"content": content.id, "styles": [str(i) for i in style_ids], "mask": mask_id}
    return spec, title, inputs


def _mask(serving: Serving, body: dict[str, Any]) -> tuple[str | None, Path | None]:
    """The strokes' colour map a request names (``mask``: a picture id), or none."""
    mask_id = body.get("mask")
    if mask_id is None or mask_id == "":
        return None, None
    picture = serving.store.get(str(mask_id))
    if picture is None:
        raise ConfigError("strokes: no such picture (mask)")
    return picture.id, picture.path


def _init_path(serving: Serving, init: str) -> Path:
    kind, _, ident = init.partition(":")
    if kind == "picture":
        picture = serving.store.get(ident)
        if picture is None:
            raise ConfigError("init: no such picture")
        return picture.path
    painting = serving.worker.get(ident)
    if painting is None or not painting.has_result:
        raise ConfigError("init: no such result")
    return painting.out


def start_of(serving: Serving, body: dict[str, Any]) -> str:
    """What a (prepared, so checked) request starts from, in the page's words."""
    init = str(body.get("init") or DEFAULT_INIT)
    kind, _, ident = init.partition(":")
    if kind == "result":
        painting = serving.worker.get(ident)
        return f"the result {painting.title}" if painting else "a result"
    if kind == "picture":
        picture = serving.store.get(ident)
        return picture.name if picture else "a picture"
    words = {
        "palette": "the photo, in the paintings' palette",
        "content": "the photo",
        "recolor": "the photo, recoloured",
    }
    return words.get(init, init)


def checked(spec: jobs.JobSpec) -> jobs.Job:
    """``jobs.prepare(spec)``, its errors naming the strokes as the page knows them (not the
    server's path); strokes that paint nothing (``PaintsNowhere``, refused by the mask reader
    for every front end) in the page's words for the eraser."""
    try:
        job = jobs.prepare(spec)
    except PaintsNowhere:
        raise ConfigError(ALL_ERASED) from None
    except ImpastoError as e:
        names = [str(m) for m in spec.masks]
        message = str(e)
        if not any(name in message for name in names):
            raise
        for name in names:
            message = message.replace(name, STROKES)
        raise type(e)(message) from None
    return job


def prepare(serving: Serving, body: dict[str, Any], painting_id: str) -> Order:
    """The checked order a request asks for, with its estimate (ImpastoError if it cannot be
    painted). Decodes the pictures: call it one at a time (``Serving.decode``)."""
    spec, title, inputs = job_spec(serving, body, serving.worker.output_for(painting_id))
    job = checked(spec)
    start = start_of(serving, body)
    return Order(spec, title, start, estimate_of(job), job.estimate, inputs)


def touch_up(serving: Serving, base_id: str, body: dict[str, Any], painting_id: str) -> Order:
    """A touch-up of a finished picture: its first run's job with the strength and colour mode
    of ``settings`` and the strokes of ``mask`` (none: the whole picture), planned by
    ``jobs.touch_up`` (the output size only, from that picture)."""
    worker = serving.worker
    base = worker.get(base_id)
    if base is None or not base.has_result:
        raise ConfigError("touch up: no such finished picture")
    origin = worker.get(base.origin) if base.origin else base
    if origin is None:  # kept while a touch-up of it is (``Worker._forget_ended``): a bug
        raise ConfigError("touch up: its first painting was forgotten; paint it anew")
    values = body.get("settings") or {}
    changes = settings.touch_up_changes(values)
    mask_id, mask = _mask(serving, body)
    spec = jobs.touch_up(
        origin.spec,
        origin.planned,
        base.out,
        changes,
        masks=(mask,) if mask is not None else (),
        output=worker.output_for(painting_id),
    )
    _kept(serving, spec, touch_up=True)  # its first run's pictures may be gone (Store.trim)
    job = checked(spec)
    inputs = {**origin.inputs, "mask": mask_id}
    start = f"the result {base.title}"
    return Order(
        spec, base.title, start, estimate_of(job), job.estimate, inputs, base.id, origin.id
    )


def still_kept(serving: Serving, order: Order) -> None:
    """ConfigError if a picture ``order`` paints from was forgotten since it was checked
    (``Store.trim``, after an upload): called from the event loop, where pictures are
    forgotten, as the order joins the queue, so that no queued painting's file is gone. The
    result it starts from is checked by ``Worker.submit``, under the lock that forgets those."""
    _kept(serving, order.spec, touch_up=order.touch_up_of is not None)


def _kept(serving: Serving, spec: jobs.JobSpec, touch_up: bool = False) -> None:
    """The pictures of ``spec`` still kept, or ConfigError in the words ``job_spec`` uses (a
    touch-up's photo and paintings are its first run's: the page cannot choose them again)."""
    store = serving.store
    if not store.keeps(spec.content):
        if touch_up:
            raise ConfigError(FORGOTTEN.format("photo", "content"))
        raise ConfigError("choose a photo first (content: no such picture)")
    if not all(store.keeps(path) for path in spec.styles):
        if touch_up:
            raise ConfigError(FORGOTTEN.format("painting", "styles"))
        raise ConfigError("styles: no such picture")
    if not all(store.keeps(path) for path in spec.masks):
        raise ConfigError("strokes: no such picture (mask)")
    start = spec.init
    if start is not None and Path(start).parent == store.folder and not store.keeps(start):
        raise ConfigError("init: no such picture")
