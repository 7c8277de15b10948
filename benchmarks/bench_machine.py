"""impasto's speed as ratios against yardsticks measured in the same run on the same machine.

An absolute time means nothing without its CPU, so this script measures, side by side:

* the machine: one 4096x4096 fp32 matrix product (GFLOP/s), and the CPU model and flags;
* the network: VGG-16 (vgg16-hed) forward alone at 512x384, and one impasto evaluation
  (forward + backward through the default costs), both with glibc's heap kept as impasto
  keeps it (``engine/heap.py``);
* a plain textbook Gatys loop with the same network: torch's own L-BFGS at its defaults,
  squared-error content and Gram style losses (the PyTorch tutorial's recipe), per evaluation;
  its usual 500- and 1000-iteration runs are that times 500 and 1000 (timed as plain torch
  runs it, and again with the heap kept, to show what that alone is worth);
* impasto's default 512 px run, whole, in a fresh process at each thread count, twice: first
  with an empty speed store (a user's first run: the probe, then the estimate), then again
  with what the first run taught the store; for each, the estimate before the run and the
  time left it showed at the end of its first scale, against the times that followed.

    python -m benchmarks.bench_machine                 # about 12 minutes on 2 AVX2 cores
    python -m benchmarks.bench_machine --threads 2     # one thread count only
    python -m benchmarks.bench_machine --eta-runs 3    # only the ETA: 3 first runs each
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "examples" / "tubingen.jpg"
STYLE = ROOT / "examples" / "starry_night.jpg"
LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def cpu() -> str:
    """'model (flags)' from lscpu, with the vector extensions that matter here."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    model = fields.get("Model name", "unknown").strip()
    flags = fields.get("Flags", "").split()
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16")
    return f"{model} ({', '.join(f for f in wanted if f in flags) or 'no AVX2'})"


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def yardsticks(threads: int) -> dict:
    import torch

    from impasto.config import StyleConfig
    from impasto.cost.objective import Objective
    from impasto.engine.heap import keep_freed_memory
    from impasto.io.images import load_image
    from impasto.network.vgg import load_network
    from impasto.ops.resize import resize_to

    torch.set_num_threads(threads)
    a, b = torch.randn(4096, 4096), torch.randn(4096, 4096)
    matmul = best_of(lambda: a @ b, 3)
    config = StyleConfig(precision="fp32")
    net = load_network(config)
    content = resize_to(load_image(CONTENT).rgb, 384, 512)
    style = resize_to(load_image(STYLE).rgb, 384, 512)
    # The textbook loop first, as plain torch runs it; then glibc's heap kept as impasto
    # keeps it in every run (engine/heap.py), for impasto's evaluation and the textbook's again.
    textbook = textbook_evaluation(net, content, style)
    kept = keep_freed_memory()
    with torch.no_grad():
        forward = best_of(lambda: net(content[None]), 3)
    objective = Objective(net, config)
    targets = objective.prepare(content, [style], [[1.0]])
    evaluation = best_of(lambda: objective.value_and_grad(content, targets), 3)
    compiled = compiled_evaluation(net, config, objective, content, targets)
    return {
        "threads": threads,
        "matmul_gflops": 2 * 4096**3 / matmul / 1e9,
        "forward_s": forward,
        "evaluation_s": evaluation,
        "textbook_evaluation_s": textbook,
        "textbook_kept_heap_s": textbook_evaluation(net, content, style) if kept else None,
        "compiled_evaluation_s": compiled,
    }


def textbook_evaluation(net, content, style) -> float:
    """The median evaluation of one step of torch's L-BFGS at its defaults (20 evaluations),
    MSE content and Gram style losses: the PyTorch tutorial's recipe."""
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        c_feats = net(content[None])
        s_grams = {n: _gram(net(style[None])[n]) for n in LAYERS}
    x = content.clone()[None].requires_grad_(True)
    optimizer = torch.optim.LBFGS([x])  # max_iter 20 evaluations per step
    calls = []

    def closure():
        start = time.perf_counter()
        optimizer.zero_grad()
        feats = net(x)
        loss = F.mse_loss(feats["relu4_2"], c_feats["relu4_2"])
        loss = loss + 1e6 * sum(F.mse_loss(_gram(feats[n]), s_grams[n]) for n in LAYERS)
        loss.backward()
        calls.append(time.perf_counter() - start)
        return loss

    optimizer.step(closure)
    return sorted(calls)[len(calls) // 2]


def compiled_evaluation(net, config, objective, content, targets):
    """One evaluation with the network's forward under torch.compile (inductor), or the error."""
    import torch

    from impasto.cost.objective import Objective

    try:
        fast = Objective(net, config)
        fast.net = torch.compile(net)
        fast.value_and_grad(content, targets)  # compiles (tens of seconds)
        seconds = best_of(lambda: fast.value_and_grad(content, targets), 3)
    except Exception as e:  # noqa: BLE001 - report whatever stopped it
        return f"{type(e).__name__}: {str(e).splitlines()[0][:80]}"
    value, grad = objective.value_and_grad(content, targets)
    value_c, grad_c = fast.value_and_grad(content, targets)
    if not torch.allclose(grad, grad_c, rtol=1e-3, atol=1e-6 * float(grad.abs().max())):
        return f"{seconds:.2f} s, but its gradient differs"
    return seconds


def _gram(a):
    n, c, h, w = a.shape
    f = a.reshape(n * c, h * w)
    return f @ f.T / (n * c * h * w)


# The defaults before issue 11 (the same schedule; steps on raw pixels, start from the
# content), so that a speed change of the new defaults shows in the same run.
CONFIGS = {"default": {}, "previous default": {"smooth_steps": 0.0, "init": "content"}}


def child_run(threads: int, name: str, store: Path) -> None:
    """One impasto run from scratch, as the CLI makes it (probe, estimate, run), with the
    speed store at ``store`` (empty: a first run). Prints JSON with its times and ETAs."""
    start = time.perf_counter()
    from impasto import jobs

    jobs.tune_process(threads)  # as the command line runs
    from impasto.config import StyleConfig
    from impasto.engine import calibration

    calibration._path = lambda: store
    config = StyleConfig(**CONFIGS[name])
    job = jobs.prepare(jobs.JobSpec(CONTENT, (STYLE,), config, output="-", overwrite=True))
    network = jobs.load_network(job.config)
    probe_start = time.perf_counter()
    job = jobs.calibrate(job, network)
    record: dict = {"probe_s": time.perf_counter() - probe_start}

    scales: dict[int, list[float]] = {}  # scale -> [elapsed at first report, at last, reports]

    def progress(p) -> None:
        if p.scale == 2 and "eta_after_first_scale" not in record:
            record["eta_after_first_scale"] = p.seconds_left
            record["elapsed_after_first_scale"] = p.elapsed
        record["elapsed"] = p.elapsed
        timing = scales.setdefault(p.scale, [p.elapsed, p.elapsed, 0])
        timing[1], timing[2] = p.elapsed, timing[2] + 1

    jobs.run(job, network, progress=progress)
    # Each scale's seconds per evaluation over what the estimate's speed predicted: the ETA
    # after scale 1 is right when the later scales keep scale 1's ratio.
    record["pace_over_predicted"] = [
        (last - first) / (count - 1) / plan.seconds_per_evaluation
        for (first, last, count), plan in zip(
            (scales[k] for k in sorted(scales)), job.estimate.scales
        )
    ]
    record["run_s"] = time.perf_counter() - start
    record["estimate_s"] = job.estimate.seconds
    record["speed"] = job.estimate.speed.as_json()
    print(json.dumps(record))


def default_run(threads: int, name: str = "default", store: Path | None = None) -> dict:
    """A run in a fresh process; ``store`` keeps the speed it learnt for the next one."""
    store = store or Path(tempfile.mkdtemp()) / "speed.json"
    cmd = [sys.executable, "-m", __spec__.name, "--child", str(threads), "--config", name]
    cmd += ["--store", str(store)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    record = json.loads(out.strip().splitlines()[-1])
    actual = record["elapsed"] - record["elapsed_after_first_scale"]
    record["remaining_after_first_scale_s"] = actual
    record["eta_error"] = record["eta_after_first_scale"] / actual - 1
    record["estimate_error"] = record["estimate_s"] / record["elapsed"] - 1
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, action="append", help="default: 2 and 1")
    parser.add_argument(
        "--eta-runs",
        type=int,
        default=0,
        help="only this many first runs per thread count: the ETA's spread",
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--config", default="default", help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_run(args.child, args.config, args.store)
        return
    print(f"# {datetime.date.today()} · {cpu()} · Python {platform.python_version()}")
    if args.eta_runs:
        eta_table(args.threads or [2, 1], args.eta_runs)
        return
    rows = []
    previous = {}
    for k, threads in enumerate(args.threads or [2, 1]):
        y = yardsticks(threads)
        store = Path(tempfile.mkdtemp()) / "speed.json"
        run = default_run(threads, store=store)
        again = default_run(threads, store=store)  # with what the first run taught
        if k == 0:  # the old defaults' time, once: at the first thread count
            previous[threads] = default_run(threads, "previous default")
        rows.append((y, run, again))
    print()
    print(
        "| threads | matmul GFLOP/s | forward s | evaluation s | evaluation / forward | "
        "textbook evaluation s | default run s | textbook 500 it. / default | "
        "textbook 1000 it. / default | ETA after scale 1 | actual | error |"
    )
    print("| --- " * 12 + "|")
    for y, run, _ in rows:
        t500 = 500 * y["textbook_evaluation_s"]
        print(
            f"| {y['threads']} | {y['matmul_gflops']:.0f} | {y['forward_s']:.2f} | "
            f"{y['evaluation_s']:.2f} | {y['evaluation_s'] / y['forward_s']:.2f} | "
            f"{y['textbook_evaluation_s']:.2f} | {run['run_s']:.0f} | "
            f"{t500 / run['run_s']:.1f} | {2 * t500 / run['run_s']:.1f} | "
            f"{run['eta_after_first_scale']:.0f} s | "
            f"{run['remaining_after_first_scale_s']:.0f} s | {run['eta_error']:+.0%} |"
        )
    print()
    print(
        "| threads | run | probe s | speed used (s at 256², exponent) | estimate before the run s "
        "| run s (after loading) | error | ETA after scale 1 | actual | error |"
    )
    print("| --- " * 10 + "|")
    for y, *runs in rows:
        for label, run in zip(("first (empty store)", "second (learnt)"), runs):
            speed = run["speed"]
            print(
                f"| {y['threads']} | {label} | {run['probe_s']:.1f} | "
                f"{speed['seconds']:.3f}, {speed['exponent']:.2f} | {run['estimate_s']:.0f} | "
                f"{run['elapsed']:.0f} | {run['estimate_error']:+.0%} | "
                f"{run['eta_after_first_scale']:.0f} s | "
                f"{run['remaining_after_first_scale_s']:.0f} s | {run['eta_error']:+.0%} |"
            )
    print()
    print("| threads | default run s | previous default run s | default / previous |")
    print("| --- | --- | --- | --- |")
    for y, run, _ in rows:
        old = previous.get(y["threads"])
        if old:
            print(
                f"| {y['threads']} | {run['run_s']:.0f} | {old['run_s']:.0f} | "
                f"{run['run_s'] / old['run_s']:.2f} |"
            )
    print()
    print("| threads | textbook evaluation s | the same with glibc's heap kept (as impasto runs) |")
    print("| --- | --- | --- |")
    for y, *_ in rows:
        k = y["textbook_kept_heap_s"]
        shown = f"{k:.2f} ({y['textbook_evaluation_s'] / k:.2f}x)" if k else "not glibc"
        print(f"| {y['threads']} | {y['textbook_evaluation_s']:.2f} | {shown} |")
    print()
    print("| threads | evaluation s | with torch.compile |")
    print("| --- | --- | --- |")
    for y, *_ in rows:
        c = y["compiled_evaluation_s"]
        shown = f"{c:.2f} s ({y['evaluation_s'] / c:.2f}x)" if isinstance(c, float) else c
        print(f"| {y['threads']} | {y['evaluation_s']:.2f} | {shown} |")


def eta_table(thread_counts: list[int], count: int) -> None:
    """``count`` first runs per thread count, each in a fresh process with an empty store:
    each ETA after scale 1 against the time that followed, and each scale's pace over the
    estimate's (a drift of the machine shows as a ratio that moves between scales; an error of
    the speed's law, as the same move on every run).
    """
    print()
    print(
        "| threads | run | exponent | ETA after scale 1 | actual | error "
        "| pace / predicted, scales 1-4 |"
    )
    print("| --- " * 7 + "|")
    for threads in thread_counts:
        for k in range(count):
            run = default_run(threads)
            paces = " ".join(f"{r:.2f}" for r in run["pace_over_predicted"])
            print(
                f"| {threads} | first #{k + 1} | {run['speed']['exponent']:.2f} | "
                f"{run['eta_after_first_scale']:.0f} s | "
                f"{run['remaining_after_first_scale_s']:.0f} s | {run['eta_error']:+.0%} | "
                f"{paces} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
