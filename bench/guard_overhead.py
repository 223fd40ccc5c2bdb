"""What the runtime guard costs on small CPU training steps.

    python bench/guard_overhead.py            # default: 7 rounds of 200 steps per configuration
    python bench/guard_overhead.py --steps 20 --only CNN

Each configuration is a complete training step (zero_grad, forward, loss, backward, optimizer
step) run alternately without and with ``logitlint.runtime.guard()``, rounds interleaved so both
see the same machine state; the median per-step time of each is reported with the overhead. The
guard's cost is a Python call per torch function while it is active (the torch function mode)
plus a few reductions over each loss input. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

from logitlint.runtime import guard


def classifier():
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    x, y = torch.randn(64, 784), torch.randint(0, 10, (64,))
    return model, lambda: F.cross_entropy(model(x), y)


def segmentation():
    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 21, 1))
    x, y = torch.randn(4, 3, 64, 64), torch.randint(0, 21, (4, 64, 64))
    return model, lambda: F.cross_entropy(model(x), y)


def multilabel():
    model = nn.Sequential(nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 40))
    x, y = torch.randn(256, 128), torch.randint(0, 2, (256, 40)).float()
    return model, lambda: F.binary_cross_entropy_with_logits(model(x), y)


def small_cnn():
    model = nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 8 * 8, 10),
    )
    x, y = torch.randn(64, 3, 32, 32), torch.randint(0, 10, (64,))
    return model, lambda: F.cross_entropy(model(x), y)


CONFIGS = {
    "MLP classifier, batch 64, cross_entropy": classifier,
    "conv segmentation 4x3x64x64, 21 classes": segmentation,
    "multi-label MLP, batch 256, BCE with logits": multilabel,
    "CNN on 64x3x32x32 images, cross_entropy": small_cnn,
}


def run(build, steps: int, guarded: bool) -> float:
    model, loss_of = build()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        optimizer.zero_grad()
        loss_of().backward()
        optimizer.step()

    for _ in range(10):  # warm-up
        step()
    started = time.perf_counter()
    if guarded:
        with guard():
            for _ in range(steps):
                step()
    else:
        for _ in range(steps):
            step()
    return (time.perf_counter() - started) / steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", help="run the configurations whose name contains this text")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)  # steadier timings on a shared 2-core machine
    warnings.simplefilter("error")  # right inputs: the guard must stay silent
    print(f"torch {torch.__version__}, 1 thread, {args.rounds} rounds x {args.steps} steps, median per step")
    for name, build in CONFIGS.items():
        if args.only and args.only not in name:
            continue
        plain, watched = [], []
        for _ in range(args.rounds):
            plain.append(run(build, args.steps, guarded=False))
            watched.append(run(build, args.steps, guarded=True))
        base, with_guard = statistics.median(plain), statistics.median(watched)
        print(
            f"{name:46s} {base * 1e3:7.3f} ms -> {with_guard * 1e3:7.3f} ms  "
            f"overhead {(with_guard - base) * 1e6:+6.0f} us ({100 * (with_guard / base - 1):+5.1f}%)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
