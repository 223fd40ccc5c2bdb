"""Break the fixer on purpose, one mutation at a time, and see which runtime test goes red.

    python -m tests.fix_mutations [--all] [NAME ...]   # from the repository root, torch installed

Each mutation is applied to a scratch copy of the tree (never to the working tree, never with git
stash), and the runtime tests run against it *without* the byte-equality test
(tests/test_fix_fixtures.py): tests/test_runtime_fixes.py and tests/test_fix_semantics.py. A mutation
survives if they all pass. Prints one line per mutation: name, caught or SURVIVED, the first failing
tests (the first only, unless --all). Not part of the suite (it takes a few minutes); the results are in the issue-13 report.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_TESTS = ("tests/test_runtime_fixes.py", "tests/test_fix_semantics.py")

# name -> (what it breaks, file, exact text, replacement)
MUTATIONS: dict[str, tuple[str, str, str, str]] = {
    "ce-nll-drop-weight": (
        "CE -> nll_loss (functional) rebuilt without weight=",
        "src/logitlint/rules/cross_entropy.py",
        "            edits: list[Edit] = [ctx.replace(func, new_func), ctx.replace(lc.input, input_code), *log[1]]",
        "            kept = ''.join(f', {a.keyword.value}={ctx.code(a.value)}' for a in lc.call.args[2:] if a.keyword is not None and a.keyword.value != 'weight')\n"
        "            edits: list[Edit] = [ctx.replace(lc.call, f'{new_func}({input_code}, {ctx.source(lc.target)}{kept})'), *log[1]]",
    ),
    "ce-nll-drop-ignore-index": (
        "CE -> nll_loss (functional) rebuilt without ignore_index=",
        "src/logitlint/rules/cross_entropy.py",
        "            edits: list[Edit] = [ctx.replace(func, new_func), ctx.replace(lc.input, input_code), *log[1]]",
        "            kept = ''.join(f', {a.keyword.value}={ctx.code(a.value)}' for a in lc.call.args[2:] if a.keyword is not None and a.keyword.value != 'ignore_index')\n"
        "            edits: list[Edit] = [ctx.replace(lc.call, f'{new_func}({input_code}, {ctx.source(lc.target)}{kept})'), *log[1]]",
    ),
    "ce-object-drop-ignore-index": (
        "CrossEntropyLoss(ignore_index=...) object -> nll_loss without the object's ignore_index",
        "src/logitlint/rules/cross_entropy.py",
        "                kwargs.append(f\"{name}={text}\")",
        "                if name != 'ignore_index':\n                    kwargs.append(f\"{name}={text}\")",
    ),
    "ce-object-drop-reduction": (
        "CrossEntropyLoss(reduction=...) object -> nll_loss without the reduction",
        "src/logitlint/rules/cross_entropy.py",
        "                kwargs.append(f\"{name}={text}\")",
        "                if name != 'reduction':\n                    kwargs.append(f\"{name}={text}\")",
    ),
    "label-smoothing-passed-through": (
        "label_smoothing no longer blocks CE -> nll_loss",
        "src/logitlint/rules/cross_entropy.py",
        'blocked = lc.arg_names() & {"label_smoothing", "size_average", "reduce", "*"}',
        'blocked = lc.arg_names() & {"size_average", "reduce", "*"}',
    ),
    "probability-targets-to-nll": (
        "probability targets no longer block CE -> nll_loss",
        "src/logitlint/rules/cross_entropy.py",
        "if isinstance(target, Tensor) and target.kind is Kind.PROBS:",
        "if False:",
    ),
    "dim-minus-one-unknown-rank": (
        "dim=-1 accepted as the class dim on input of unknown rank",
        "src/logitlint/rules/rewrite.py",
        "    if dim is None or ndim is None:\n        return False",
        "    if dim == -1:\n        return True\n    if dim is None or ndim is None:\n        return False",
    ),
    "manual-softmax-without-keepdim": (
        "LGT206 fix applied without keepdim=True",
        "src/logitlint/rules/manual.py",
        'if not syntax.is_true(bound.get("keepdim")):',
        "if False:",
    ),
    "argmax-mismatched-dim": (
        "LGT302 fix applied when the argmax dim differs from the softmax dim",
        "src/logitlint/rules/softmax_misc.py",
        'if dim is None or dim != value.dim or value.via == "call":',
        'if dim is None or value.via == "call":',
    ),
    "argmax-missing-dim": (
        "LGT302 fix applied to a no-dim (flattening) argmax",
        "src/logitlint/rules/softmax_misc.py",
        'if dim is None or dim != value.dim or value.via == "call":',
        'if (dim is not None and dim != value.dim) or value.via == "call":',
    ),
    "kl-functional-log-target-not-applied": (
        "functional kl_div: the log_target=True fix silently not offered",
        "src/logitlint/rules/kl_div.py",
        '        if lc.form == "functional":\n            fix = ctx.fix(self, title, [set_keyword(lc.call, "log_target", value, ctx.unit)])',
        '        if False:\n            fix = ctx.fix(self, title, [set_keyword(lc.call, "log_target", value, ctx.unit)])',
    ),
    "keep-the-softmax-LGT101": (
        "LGT101 fix keeps the softmax (replaces the input by itself)",
        "src/logitlint/rules/cross_entropy.py",
        "                [ctx.replace(lc.input, ctx.source(logits, unit=producer.unit))],\n            )  # type: ignore[union-attr]",
        "                [ctx.replace(lc.input, ctx.code(lc.input))],\n            )  # type: ignore[union-attr]",
    ),
    "keep-the-softmax-LGT104": (
        "LGT104 fix keeps the softmax and takes its log: kl_div(F.softmax(x, 1).log(), p)",
        "src/logitlint/rules/kl_div.py",
        "                        ctx.replace(producer.call, new[0], producer.unit)",
        "                        ctx.replace(producer.call, ctx.code(producer.call) + '.log()', producer.unit)",
    ),
    "out-of-no-grad": (
        "a softmax made under no_grad rewritten into log_softmax outside the block",
        "src/logitlint/rules/rewrite.py",
        "        if producer.unit is ctx.unit and contexts_around(ctx.unit, producer.call) != contexts_around(ctx.unit, node):",
        "        if False:",
    ),
    "logsumexp-dim-changed": (
        "LGT205 fix emits dim=-1 instead of the sum's dim",
        "src/logitlint/rules/elementwise.py",
        "                args = [x, _arg_text(dim, ctx)]",
        "                args = [x, 'dim=-1']",
    ),
    "logsumexp-keepdim-dropped": (
        "LGT205 fix drops keepdim=",
        "src/logitlint/rules/elementwise.py",
        '                    args.append(f"keepdim={ctx.code(keepdim)}")',
        "                    pass",
    ),
    "logsumexp-dim-none-passed": (
        "LGT205 passes sum(dim=None) on to logsumexp (TypeError)",
        "src/logitlint/rules/elementwise.py",
        "                dim = None  # sum(dim=None)",
        "                pass  # sum(dim=None)",
    ),
    "manual-softmax-dim-changed": (
        "LGT206 fix emits dim=-1 instead of the sum's dim",
        "src/logitlint/rules/manual.py",
        "dim={ctx.code(bound.get('dim'))})\"",
        "dim=-1)\"",
    ),
    "log-softmax-dim-changed": (
        "log_softmax renames (LGT103/104/201/202) put dim=-1 in the rewritten call",
        "src/logitlint/rules/rewrite.py",
        "    return unit.code(call.with_changes(func=new_func, args=args, lpar=[], rpar=[])), imports",
        "    text = unit.code(call.with_changes(func=new_func, args=args, lpar=[], rpar=[]))\n"
        "    return re.sub(r'(dim=)?(1|-1)\\)$', 'dim=-1)', text), imports",
    ),
    "dtype-dropped": (
        "log_softmax renames drop the softmax's dtype",
        "src/logitlint/rules/rewrite.py",
        "    if producer.dtype is not None:\n        args = [",
        "    if producer.dtype is not None:\n        args = [a for a in args if a.value is not producer.dtype]\n        args = [",
    ),
    "soft-targets-not-expanded": (
        "LGT209 fix passes a broadcast (C,) prior straight to cross_entropy",
        "src/logitlint/rules/manual.py",
        "{ctx.source(target, atom=True)}.expand_as({x}))",
        "{ctx.source(target, atom=True)})",
    ),
    "eps-removed-under-product": (
        "LGT202 fix applied where the log-probabilities are multiplied (masked soft targets)",
        "src/logitlint/rules/log_softmax.py",
        "        if meets_a_product(node, ctx):",
        "        if False:",
    ),
    "logsigmoid-not-negated": (
        "LGT204 log(1 - sigmoid(x)) fixed to logsigmoid(x) (the minus lost)",
        "src/logitlint/rules/elementwise.py",
        "            operand = _negated(operand, logits) if negate else operand",
        "            operand = operand",
    ),
    "kl-batchmean-becomes-sum": (
        "LGT108 fix sets reduction='sum' instead of 'batchmean'",
        "src/logitlint/rules/kl_div.py",
        """[set_keyword(node, "reduction", '"batchmean"', ctx.unit)]""",
        """[set_keyword(node, "reduction", '"sum"', ctx.unit)]""",
    ),
    "bce-drops-weight": (
        "LGT203 functional fix drops weight=",
        "src/logitlint/rules/bce.py",
        "        edits.append(ctx.replace(lc.call.func, ctx.code(new[0])))",
        "        edits.append(ctx.replace(lc.call.func, ctx.code(new[0])))\n"
        "        edits.extend(ctx.replace(a, '') for a in lc.call.args if a.keyword is not None and a.keyword.value == 'weight')",
    ),
    "softplus-becomes-relu": (
        "LGT207 fix writes F.relu(x) instead of F.softplus(x)",
        "src/logitlint/rules/elementwise.py",
        'spelled = ctx.spell("torch.nn.functional.softplus")',
        'spelled = ctx.spell("torch.nn.functional.relu")',
    ),
    "log1p-keeps-the-one": (
        "LGT208 fix writes log1p(1 + x)",
        "src/logitlint/rules/elementwise.py",
        'fix = ctx.fix(self, "Use torch.log1p", [ctx.replace(node, f"{spelled[0]}({ctx.source(x)})"), *spelled[1]])',
        'fix = ctx.fix(self, "Use torch.log1p", [ctx.replace(node, f"{spelled[0]}(1 + {ctx.source(x)})"), *spelled[1]])',
    ),
}


# Mutants whose final output is still right: the fixer's next round repairs them (the LGT104 one
# writes kl_div(softmax(x).log()), which LGT201 then turns into log_softmax). They must survive.
EQUIVALENT = frozenset({"keep-the-softmax-LGT104"})


def scratch_copy() -> Path:
    root = Path(tempfile.mkdtemp(prefix="logitlint-mutant-"))
    for part in ("src", "tests", "fixtures", "pyproject.toml"):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, root / part, ignore=shutil.ignore_patterns("__pycache__", ".logitlint_cache"))
        else:
            shutil.copy(source, root / part)
    return root


def mutate(root: Path, path: str, old: str, new: str) -> None:
    target = root / path
    text = target.read_text()
    assert text.count(old) == 1, f"{path}: the mutated text occurs {text.count(old)} times"
    text = text.replace(old, new)
    if "re.sub(" in new and "\nimport re\n" not in text:
        text = text.replace("from __future__ import annotations\n", "from __future__ import annotations\n\nimport re\n", 1)
    target.write_text(text)


def run(name: str) -> tuple[bool, list[str]]:
    what, path, old, new = MUTATIONS[name]
    root = scratch_copy()
    try:
        mutate(root, path, old, new)
        env = {**os.environ, "PYTHONPATH": str(root / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
        result = subprocess.run(
            [sys.executable, "-m", "pytest", *RUNTIME_TESTS, "-q", "-p", "no:cacheprovider", "-rf", *FIRST],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        failed = re.findall(r"^FAILED (\S+)", result.stdout, re.M)
        errors = re.findall(r"^ERROR (\S+)", result.stdout, re.M)
        return result.returncode != 0, failed + errors or ([result.stdout[-300:]] if result.returncode else [])
    finally:
        shutil.rmtree(root, ignore_errors=True)


FIRST: tuple[str, ...] = ("-x",)  # stop at the first failing test; --all: list every failing test


def main(names: list[str]) -> int:
    global FIRST
    if "--all" in names:
        names, FIRST = [n for n in names if n != "--all"], ()
    survivors = 0
    for name in names or list(MUTATIONS):
        caught, failed = run(name)
        survivors += caught if name in EQUIVALENT else not caught
        shown = ", ".join(f.split("::", 1)[1] if "::" in f else f for f in failed[:4])
        more = f" (+{len(failed) - 4} more)" if len(failed) > 4 else ""
        verdict = "caught" if caught else "SURVIVED"
        if name in EQUIVALENT:
            verdict = "equivalent, survived as it must" if not caught else "equivalent but CAUGHT (a test is wrong)"
        print(f"{name}: {verdict} ({len(failed)} failed) {shown}{more}", flush=True)
    return 1 if survivors else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
