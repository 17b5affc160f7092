"""Parser fuzzing at scale (issue #8): 10⁵ inputs per parser, 0 crashes or hangs expected.

    python benchmarks/fuzz.py --n 100000 --out results/fuzz.json
"""

from __future__ import annotations

import argparse
import json

from common import write_results

from sparsesnn.testing import fuzz


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    report = fuzz.run(args.n, args.seed)
    summary = {k: {**v, "crashes": len(v["crashes"]), "first_crashes": v["crashes"][:10]} for k, v in report.items()}
    print(json.dumps(summary, indent=2))
    if args.out:
        write_results(args.out, summary)


if __name__ == "__main__":
    main()
