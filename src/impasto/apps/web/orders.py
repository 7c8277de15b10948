"""What a painting request asks for, as a job: JSON of ids and settings -> a checked spec.

The request names pictures and results by their random ids; they become the server's own
paths here, and the settings a checked StyleConfig. ``jobs.prepare`` then makes every check
the command line makes, decodes the pictures and plans the run (the estimate); the decoded
job is let go again, so that a painting waiting in the queue holds only its spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import jobs
from ...errors import ConfigError
from . import settings
from .settings import DEFAULT_INIT
from .worker import estimate_of

if TYPE_CHECKING:
    from .app import Serving


def job_spec(serving: Serving, body: dict[str, Any], output: Path) -> tuple[jobs.JobSpec, str]:
    """The job a request asks for, built from ids; and its title."""
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
    config = settings.config_from(values, init)
    spec = jobs.JobSpec(
        content=content.path,
        styles=tuple(s.path for s in styles if s is not None),
        config=config,
        output=output,
        init=init_path,
    )
    title = f"{content.name} × " + " + ".join(s.name for s in styles if s is not None)
    return spec, title


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
    words = {"content": "the photo", "recolor": "the photo, recoloured"}
    return words.get(init, init)


def prepare(
    serving: Serving, body: dict[str, Any], painting_id: str
) -> tuple[jobs.JobSpec, str, dict[str, Any]]:
    """The checked spec a request asks for, its title and its estimate (ImpastoError if it
    cannot be painted). Decodes the pictures: call it one at a time (``Serving.decode``)."""
    spec, title = job_spec(serving, body, serving.worker.output_for(painting_id))
    return spec, title, estimate_of(jobs.prepare(spec))
