"""The library's core changes nothing outside its return value: ``stylize`` leaves the cache
folder (the speed store), the allocator's setting, torch's random generator and threads as
they were, and prints nothing; front ends opt into those through ``impasto.jobs``.

Each check runs in a fresh process: the allocator's setting is the whole process's, and other
tests in this one may have asked for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

CHILD = """
import hashlib, json, os, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from helpers import EXAMPLES, tiny_weights
import torch
from impasto.network import vgg
vgg._state_dict = lambda network, path=None, on_progress=None: tiny_weights(network)
from impasto.engine import calibration, heap
calibration.MIN_LEARNING_PIXELS = 1  # every scale teaches the store, if anything writes it
import impasto
from impasto import jobs

home = Path(os.environ["IMPASTO_HOME"])
home.mkdir(parents=True)
(home / "speed.json").write_text("{{}}")

def cache():
    return {{p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in home.iterdir()}}

def state():
    return {{
        "cache": cache(),
        "seed": torch.initial_seed(),
        "rng": hashlib.sha256(torch.get_rng_state().numpy().tobytes()).hexdigest(),
        "threads": torch.get_num_threads(),
        "heap": heap.keep_freed_memory.cache_info().currsize,
    }}

torch.manual_seed(1234)
torch.set_num_threads(1)
config = impasto.StyleConfig(size=24, min_size=16, iterations=6, seed=7, init="noise")
before = state()
content = impasto.load_image(EXAMPLES / "tubingen.jpg").rgb
style = impasto.load_image(EXAMPLES / "starry_night.jpg").rgb
picture = impasto.stylize(content, [style], config)
after_stylize = state()
job = jobs.prepare(jobs.JobSpec(EXAMPLES / "tubingen.jpg", (EXAMPLES / "starry_night.jpg",),
                                config, output=home.parent / "out.png"))
jobs.run(job)
after_job = state()
print("STATE " + json.dumps([before, after_stylize, after_job, list(picture.shape)]))
"""


def test_stylize_changes_nothing_outside_its_result(tmp_path):
    env = {**os.environ, "IMPASTO_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(tests=str(TESTS))],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("STATE "), done.stdout  # nothing printed
    before, after_stylize, after_job, shape = json.loads(lines[0].removeprefix("STATE "))
    assert shape[0] == 3
    assert after_stylize == before  # cache folder, seed, generator, threads, allocator
    assert before["seed"] == 1234 and before["heap"] == 0
    # a job, for a front end, teaches the speed store what its run took (and nothing else)
    assert after_job["cache"]["speed.json"] != before["cache"]["speed.json"]
    assert {k: v for k, v in after_job.items() if k != "cache"} == {
        k: v for k, v in before.items() if k != "cache"
    }
