"""impasto's default run against neural-style-pt's default 1000-iteration run, both timed here.

Issue 12's target is "the default 512 px run at least 30x faster than neural-style-pt's
default 1000-iteration run". ``bench_machine.py`` stands in for that peer with a textbook
loop whose evaluation alone is timed; this script runs the peer itself, on the same machine,
in the same run, beside that textbook evaluation and impasto's README example:

* neural-style-pt is the PyPI package ``neural-style==0.5.7`` (ProGamerGov's PyTorch port of
  jcjohnson/neural-style), installed with this Python's pip into ``--peer-dir`` (not into the
  environment). It runs with its own defaults (512 px, L-BFGS with 100 corrections, random
  start, content 5, style 100, TV 1e-3, max pooling) and impasto's weights (vgg16-hed, the
  same network, written in the peer's VGG-16 layout), with ``-gpu c`` as on any CPU.
* The peer imports ``torchvision.transforms`` only to load, resize and save pictures. The
  Linux torchvision wheel on PyPI is a CUDA build whose operators do not load beside a CPU
  torch, so the peer gets a small stand-in module for those six transforms, written here; the
  timed loop (its network, losses and L-BFGS) is the peer's own code.
* Its iterations are timed from its progress lines. L-BFGS's own work grows with its history
  until 100 corrections are stored, so a run of ``--iterations`` (default 200) gives the first
  100 iterations' time and the steady time per iteration after them; the 1000-iteration run
  is  t(first 100) + 900 x steady.
* impasto's README example (``impasto examples/tubingen.jpg examples/starry_night.jpg``) runs in
  a fresh process and is timed whole (importing torch, loading weights, a probe if the speed
  store is empty, painting, saving), as a user waits for it.

    python -m benchmarks.bench_peer                      # 2 threads, then 1 (about 25 min)
    python -m benchmarks.bench_peer --threads 2 --iterations 150
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_machine import cpu, textbook_evaluation

HERE = Path(__file__).resolve().parent

ROOT = HERE.parent
CONTENT = ROOT / "examples" / "tubingen.jpg"
STYLE = ROOT / "examples" / "starry_night.jpg"
PEER = "neural-style==0.5.7"
HISTORY = 100  # the peer's L-BFGS corrections (torch's default history_size, which it keeps)

# The six transforms the peer calls, on PIL images and (C,H,W) tensors in 0..1, as torchvision
# defines them: Resize to (h, w) bilinear with antialiasing, ToTensor, Normalize, Lambda,
# ToPILImage, Compose.
TRANSFORMS = """
import numpy as np
import torch
from PIL import Image


class Compose:
    def __init__(self, steps):
        self.steps = steps

    def __call__(self, x):
        for step in self.steps:
            x = step(x)
        return x


class Resize:
    def __init__(self, size):
        self.size = size

    def __call__(self, image):
        h, w = self.size
        return image.resize((w, h), Image.BILINEAR)


class ToTensor:
    def __call__(self, image):
        array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
        return torch.from_numpy(array).permute(2, 0, 1).contiguous()


class Normalize:
    def __init__(self, mean, std):
        self.mean = torch.tensor(mean)[:, None, None]
        self.std = torch.tensor(std)[:, None, None]

    def __call__(self, x):
        return (x - self.mean) / self.std


class Lambda:
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)


class ToPILImage:
    def __call__(self, x):
        array = (x.detach().clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5)
        return Image.fromarray(array.astype(np.uint8))
"""

# neural-style-pt's VGG-16 ``features`` indices of the 13 convolutions, block by block.
FEATURE_INDEX = {
    "conv1_1": 0, "conv1_2": 2,
    "conv2_1": 5, "conv2_2": 7,
    "conv3_1": 10, "conv3_2": 12, "conv3_3": 14,
    "conv4_1": 17, "conv4_2": 19, "conv4_3": 21,
    "conv5_1": 24, "conv5_2": 26, "conv5_3": 28,
}  # fmt: skip


def install_peer(peer_dir: Path) -> Path:
    """neural-style-pt in ``peer_dir`` (pip --target, no dependencies), the torchvision
    stand-in beside it, and impasto's weights in the peer's layout. Returns the weights file."""
    peer_dir = peer_dir.resolve()
    if not (peer_dir / "neural_style").is_dir():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
             str(peer_dir), PEER],
            check=True,
        )  # fmt: skip
    shim = peer_dir / "_stand_in" / "torchvision"
    shim.mkdir(parents=True, exist_ok=True)
    (shim / "__init__.py").write_text('"""Stand-in: only transforms (bench_peer.py)."""\n')
    (shim / "transforms.py").write_text(TRANSFORMS)
    weights = peer_dir / "vgg16-hed.pth"  # the peer picks its architecture by "vgg" and "16"
    if not weights.exists():
        import torch

        from impasto.network.store import load_weights

        state = load_weights("vgg16-hed")
        peer_state = {}
        for name, index in FEATURE_INDEX.items():
            peer_state[f"features.{index}.weight"] = state[f"{name}.weight"].float().contiguous()
            peer_state[f"features.{index}.bias"] = state[f"{name}.bias"].float().contiguous()
        torch.save(peer_state, weights)
    return weights


def run_peer(peer_dir: Path, weights: Path, threads: int, iterations: int) -> dict:
    """The peer's default run cut to ``iterations``: seconds at each of its progress lines."""
    out_dir, peer_dir = Path(tempfile.mkdtemp()), peer_dir.resolve()
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "PYTHONPATH": os.pathsep.join([str(peer_dir / "_stand_in"), str(peer_dir)]),
    }
    cmd = [
        sys.executable, "-m", "neural_style.neural_style",
        "-content_image", str(CONTENT), "-style_image", str(STYLE),
        "-gpu", "c", "-model_file", str(weights), "-disable_check",
        "-num_iterations", str(iterations), "-print_iter", "10",
        "-output_image", str(out_dir / "peer.png"),
    ]  # fmt: skip
    start = time.perf_counter()
    marks: dict[int, float] = {}
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=out_dir) as p:
        assert p.stdout is not None
        for line in p.stdout:
            if line.startswith("Iteration "):
                marks[int(line.split()[1])] = time.perf_counter() - start
    if p.returncode != 0:
        raise RuntimeError(f"neural-style-pt failed (exit {p.returncode}): {' '.join(cmd)}")
    total = time.perf_counter() - start
    first, last = min(marks), max(marks)
    steady_from = min(k for k in marks if k >= HISTORY)
    steady = (marks[last] - marks[steady_from]) / (last - steady_from)
    early = (marks[steady_from] - marks[first]) / (steady_from - first)
    # Iterations 1..first ran at about the early pace (their first one includes the setup).
    first_hundred = early * steady_from
    return {
        "setup_s": marks[first] - early * first,
        "early_s_per_iteration": early,
        "steady_s_per_iteration": steady,
        "run_1000_s": first_hundred + (1000 - steady_from) * steady,
        "wall_s": total,
        "picture": str(out_dir / "peer.png"),
    }


def run_impasto(threads: int) -> float:
    """Seconds of the README example in a fresh process, as a user waits for it."""
    out = Path(tempfile.mkdtemp()) / "tubingen_starry.png"
    cmd = [sys.executable, "-m", "impasto", str(CONTENT), str(STYLE), "-o", str(out)]
    cmd += ["--threads", str(threads)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def textbook(threads: int) -> float:
    """bench_machine's textbook evaluation (seconds), as plain torch runs it."""
    import torch

    from impasto.config import StyleConfig
    from impasto.io.images import load_image
    from impasto.network.vgg import load_network
    from impasto.ops.resize import resize_to

    torch.set_num_threads(threads)
    config = StyleConfig(precision="fp32")
    net = load_network(config)
    content = resize_to(load_image(CONTENT).rgb, 384, 512)
    style = resize_to(load_image(STYLE).rgb, 384, 512)
    return textbook_evaluation(net, content, style)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, action="append", help="default: 2 and 1")
    parser.add_argument("--iterations", type=int, default=200, help="peer iterations run")
    parser.add_argument("--peer-dir", type=Path, default=ROOT / "benchmarks" / "out" / "peer")
    parser.add_argument("--textbook", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.textbook:  # a child: the textbook evaluation in a process of its own
        print(textbook(args.textbook))
        return
    if args.iterations < HISTORY + 20:
        parser.error(f"--iterations must be at least {HISTORY + 20} (the history fills at 100)")
    print(f"# {datetime.date.today()} · {cpu()} · Python {platform.python_version()}")
    weights = install_peer(args.peer_dir)
    rows = []
    for threads in args.threads or [2, 1]:
        peer = run_peer(args.peer_dir, weights, threads, args.iterations)
        cmd = [sys.executable, "-m", __spec__.name, "--textbook", str(threads)]
        tb = float(subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout)
        ours = run_impasto(threads)
        rows.append((threads, peer, tb, ours))
        print(f"[{threads} threads] peer {peer}, textbook {tb:.3f} s, impasto {ours:.1f} s")
    print()
    print(
        "| threads | peer s/iteration, 1-100 | after 100 | peer 1000 iterations s | "
        "textbook evaluation s | impasto default run s | peer 1000 it. / impasto | "
        "textbook 1000 / impasto |"
    )
    print("| --- " * 8 + "|")
    for threads, peer, tb, ours in rows:
        print(
            f"| {threads} | {peer['early_s_per_iteration']:.2f} | "
            f"{peer['steady_s_per_iteration']:.2f} | {peer['run_1000_s']:.0f} | {tb:.2f} | "
            f"{ours:.1f} | {peer['run_1000_s'] / ours:.1f} | {1000 * tb / ours:.1f} |"
        )


if __name__ == "__main__":
    main()
