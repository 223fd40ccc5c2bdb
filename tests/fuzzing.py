"""Program generators for fuzzing ``check`` and ``fix`` (the suite runs a fast slice; the long run
is ``python bench/fuzz.py``)."""

from __future__ import annotations

import random

from hypothesis import strategies as st

IMPORTS = [
    "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n",
    "import torch as th\nfrom torch import nn\nfrom torch.nn import functional as F\ntorch = th\n",
    "from torch.nn.functional import softmax, log_softmax, cross_entropy, nll_loss\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n",
]
LEAVES = ["x", "logits", "model(x)", "self.fc(h)", "out[0]", "(a + b)", "torch.randn(4, 3)", "p"]
DIMS = ["1", "-1", "0", "dim=1", "dim=-1", "dim"]
WRAPPERS = [
    "F.softmax({e}, {d})",
    "torch.softmax({e}, {d})",
    "{e}.softmax({d})",
    "nn.Softmax({d})({e})",
    "softmax({e}, {d})",
    "F.log_softmax({e}, {d})",
    "torch.log({e})",
    "{e}.log()",
    "torch.exp({e})",
    "{e}.exp()",
    "torch.sigmoid({e})",
    "{e}.sigmoid()",
    "1 + {e}",
    "{e} + 1e-8",
    "1 - {e}",
    "{e}.sum({d}, keepdim=True)",
    "{e} / {e}.sum({d}, keepdim=True)",
    "torch.log(torch.sum(torch.exp({e}), {d}))",
    "torch.argmax({e}, {d})",
    "{e}.argmax({d})",
    "-({e})",
    "{e}.view(-1, 10)",
    "{e}.clamp(min=1e-6)",
    "torch.log1p({e})",
    "torch.exp({e}) - 1",
    "F.softmax({e})",
]
LOSSES = [
    "F.cross_entropy({e}, y)",
    "nn.CrossEntropyLoss()({e}, y)",
    "crit({e}, y)",
    "F.nll_loss({e}, y)",
    "F.kl_div({e}, t, reduction='batchmean')",
    "nn.BCELoss()({e}, y)",
    "F.binary_cross_entropy_with_logits({e}, y)",
    "-F.nll_loss({e}, y)",
    "cross_entropy({e}, y)",
    "nll_loss({e}, y, reduction='sum')",
]


def expression(rng: random.Random, depth: int = 0) -> str:
    if depth >= 4 or rng.randrange(4) == 0:
        return rng.choice(LEAVES)
    template = rng.choice(WRAPPERS)
    inner = expression(rng, depth + 1)
    if " " in inner and "{e}." in template or "{e} " in template:
        inner = f"({inner})"  # an operand of an operator or a method: keep it one expression
    return template.format(e=inner, d=rng.choice(DIMS))


def random_program(rng: random.Random) -> str:
    lines = [
        rng.choice(IMPORTS),
        "crit = nn.CrossEntropyLoss()",
        "",
        "",
        "def step(x, y, t, model, a, b, h, out, dim):",
    ]
    names = ["p", "q", "r"]
    for _ in range(rng.randint(1, 6)):
        kind = rng.randrange(5)
        expr = expression(rng)
        if kind == 0:
            lines.append(f"    {rng.choice(names)} = {expr}")
        elif kind == 1:
            lines.append(f"    loss = {rng.choice(LOSSES).format(e=expr)}")
        elif kind == 2:
            lines.append(f"    if a:\n        {rng.choice(names)} = {expr}\n    else:\n        pass")
        elif kind == 3:
            lines.append(f"    for _ in range(2):\n        loss = {rng.choice(LOSSES).format(e=expr)}")
        else:
            lines.append(f"    print({expr})  # noqa: LGT1")
    lines.append("    return loss if a else None")
    return "\n".join(lines) + "\n"


torch_programs = st.randoms(use_true_random=False).map(random_program)


def mutate(text: str, rng: random.Random) -> str:
    """A random small edit: a deleted, duplicated or swapped line, a deleted or inserted character."""
    lines = text.splitlines(keepends=True)
    choice = rng.randrange(5)
    if choice == 0 and lines:
        del lines[rng.randrange(len(lines))]
    elif choice == 1 and lines:
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    elif choice == 2 and len(lines) > 1:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    else:
        joined = "".join(lines)
        if not joined:
            return joined
        i = rng.randrange(len(joined))
        insert = rng.choice(["(", ")", ":", "\n", "    ", "#", "'", "softmax(", ".log()", "\\", "\t", "\r"])
        return joined[:i] + (insert if choice == 3 else "") + joined[i + (1 if choice == 4 else 0) :]
    return "".join(lines)
