"""The long run of the differential fix fuzzer (the suite runs a fast slice of it in
tests/test_fix_differential.py).

    python bench/fuzz_fixes.py [--programs N] [--seed S] [--rules LGT101,LGT203] [--show K]

Generates N loss programs (default 5000, round-robin over every fixable rule) from the grammar in
tests/fix_grammar.py: spellings (aliases, from-imports, loss objects, ``self.`` attributes,
helpers), keyword and positional arguments, dims on tensors of rank 1 to 4, no_grad/detach,
masked (-inf) logits, broadcast targets. Each goes through the real ``logitlint fix
--unsafe-fixes`` path and is executed before and after with torch (f32, f64, f16, bf16; moderate,
extreme and tiny scales; values and gradients); tests/fix_oracle.py judges each fix by its class
and each refusal by the truth of its reason. Prints the figures (programs generated, fixes
applied, refusals, failures) and the first K failing programs; exits 1 if any program failed.
Needs torch (the test extra).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rules", default="", help="comma-separated codes (default: every fixable rule)")
    parser.add_argument("--show", type=int, default=5, help="failing programs to print")
    args = parser.parse_args()

    from tests.fix_oracle import Tally, fuzz

    rules = [r for r in args.rules.split(",") if r] or None
    start = time.process_time()
    tally = Tally()
    done = 0
    while done < args.programs:  # in chunks, so that a long run shows progress
        chunk = min(500, args.programs - done)
        fuzz(chunk, args.seed * 1000 + done // 500, rules=rules, tally=tally)
        done += chunk
        print(f"... {done} programs, {len(tally.failures)} failures", file=sys.stderr, flush=True)
    print(tally.figures())
    print(f"CPU time: {time.process_time() - start:.0f} s")
    for verdict in tally.failures[: args.show]:
        print(f"\n===== {verdict.case.rule}: {verdict.failure}\nnote: {verdict.note}")
        print(f"--- program\n{verdict.case.source}--- fixed\n{verdict.fixed}")
    return 1 if tally.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
