"""One table from one or more quality runs (their results.json), with each configuration's
change against a baseline configuration, pair by pair and on average.

    python -m benchmarks.quality.summary out/results.json other/results.json --baseline previous
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _ratio(a: float, b: float) -> str:
    return f"{a / b - 1:+.0%}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results", nargs="+", type=Path)
    p.add_argument("--baseline", default="previous", help="configuration to compare against")
    args = p.parse_args(argv)
    rows, metas = [], []
    seen = set()
    for path in args.results:
        data = json.loads(path.read_text())
        metas.append(data["meta"])
        for row in data["rows"]:  # a pair run twice (runs split by hand) counts once
            if (row["pair"], row["config"]) not in seen:
                seen.add((row["pair"], row["config"]))
                rows.append(row)
    sizes = sorted({m["size"] for m in metas})
    cpus = sorted({f"{m['cpu']} ({m['threads']} thread(s))" for m in metas})
    print(f"size {', '.join(map(str, sizes))} px; {'; '.join(cpus)}; {metas[0]['date'][:10]}")
    print()
    print("| pair | picture | style distance | content distance | ripple ratio | fine share "
          "ratio | seconds |")  # fmt: skip
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    base = {r["pair"]: r for r in rows if r["config"] == args.baseline}
    changes: dict[str, list[tuple[float, float, float]]] = {}
    for r in rows:
        ref = base.get(r["pair"])
        note = ""
        if ref is not None and r is not ref and r["seconds"] is not None:
            note = (
                f" ({_ratio(r['style_distance'], ref['style_distance'])}, "
                f"{_ratio(r['content_distance'], ref['content_distance'])})"
            )
            if r["seconds"] is not None:
                changes.setdefault(r["config"], []).append(
                    (
                        r["style_distance"] / ref["style_distance"],
                        r["content_distance"] / ref["content_distance"],
                        r["ripple"]["ratio"] / ref["ripple"]["ratio"],
                    )
                )
        seconds = "—" if r["seconds"] is None else f"{r['seconds']:.0f}"
        print(
            f"| {r['pair']} | {r['config']}{note} | {r['style_distance']:.3f} | "
            f"{r['content_distance']:.3f} | {r['ripple']['ratio']:.2f} | "
            f"{r['ripple']['share_ratio']:.2f} | {seconds} |"
        )
    print()
    for name, values in changes.items():
        n = len(values)
        style, content, ripple = (sum(v[k] for v in values) / n for k in range(3))
        print(
            f"- {name} against {args.baseline}, mean over {n} pairs: style distance "
            f"{style - 1:+.1%}, content distance {content - 1:+.1%}, fine ripple {ripple - 1:+.0%}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
