"""What decides how little is parsed: the file gate, the unit screen, imports read in one pass,
methods' signatures read from their headers, and the project's bounded store of analysed modules.
Each cheap path must give the answer the expensive one gives."""

from __future__ import annotations

import fnmatch
import textwrap
from pathlib import Path

from logitlint.analysis import project as project_module
from logitlint.analysis.module import ModuleContext
from logitlint.analysis.project import ProjectIndex
from logitlint.engine import CheckSettings, FileCheck, may_report
from logitlint.files import DEFAULT_EXCLUDES, excluded
from logitlint.outline import Outline, scan_tokens

WORDS_ONLY_IN_PROSE = '''\
import torch
import torch.nn.functional as F


def describe(x):
    """Returns the log of the softmax, like torch.log(F.softmax(x, 1)) would."""
    # torch.log(F.softmax(x, 1)) is what a reader might expect here
    return x + 1


def unstable(x):
    return torch.log(F.softmax(x, 1))


def in_f_string(x):
    return f"""{torch.log(F.softmax(x, 1))}"""
'''


def _check(text: str) -> FileCheck:
    check = FileCheck(text, "case.py", CheckSettings())
    check.diagnostics = check.run()
    return check


def test_a_unit_whose_rule_words_are_only_in_prose_is_not_parsed():
    check = _check(WORDS_ONLY_IN_PROSE)
    assert [(d.code, d.span.line) for d in check.diagnostics] == [("LGT201", 12), ("LGT201", 16)]
    # describe() (3 code lines and prose) is screened out; the imports, unstable() and the f-string are parsed
    lines = WORDS_ONLY_IN_PROSE.splitlines()
    describe = next(i for i, line in enumerate(lines) if line.startswith("def describe"))
    unstable = next(i for i, line in enumerate(lines) if line.startswith("def unstable"))
    assert check.parsed_lines <= len(lines) - (unstable - describe) + 1


def test_the_screen_never_changes_findings():
    """The same findings with the prefilter off (every unit parsed with LibCST, nothing screened)."""
    whole = FileCheck(WORDS_ONLY_IN_PROSE, "case.py", CheckSettings(prefilter=False)).run()
    assert [(d.code, d.span) for d in _check(WORDS_ONLY_IN_PROSE).diagnostics] == [(d.code, d.span) for d in whole]


def test_a_quote_in_a_comment_cannot_hide_code_from_the_screen():
    text = textwrap.dedent(
        '''\
        import torch
        import torch.nn.functional as F


        def f(x):
            a = 1  # it's a trap: '\'\'
            b = torch.log(F.softmax(x, 1))
            c = 2  # and '\'\'
            return a + b + c
        '''
    )
    assert [d.code for d in _check(text).diagnostics] == ["LGT201"]


def test_the_word_scan_finds_whole_words_only():
    text = "logger.log(x)\nexp_avg = torch.exp(y)\nlogits.softmax()\n"
    assert scan_tokens(text) == [(7, "log"), (30, "exp"), (44, "softmax"), (44, "softmax()")]


def test_the_gate_finds_a_word_without_scanning_for_every_word():
    texts = [
        "import logging\nlogger = logging.getLogger(__name__)\n",
        "y = x.exp()\n",
        "p = F.softmax(x)\n",  # softmax() (a call without dim) only
        "p = F.softmax(x, 1)\n",
        "loss = nn.CrossEntropyLoss()(out, y)\n",
        "catalog = explore(argmaximum)\n",
    ]
    words = [frozenset({"log", "exp"}), frozenset({"softmax()"}), frozenset({"CrossEntropyLoss", "argmax"})]
    for text in texts:
        for wanted in words:
            expected = bool(Outline(text).tokens & wanted)  # the full scan
            outline = Outline(text)
            assert outline.has_tokens(wanted) is expected, (text, wanted)
            if "softmax()" not in wanted:  # only that token needs the full scan (a call's arguments)
                assert "tokens" not in outline.__dict__, (text, wanted)
    assert Outline("p = F.softmax(x)\n").has_tokens(frozenset({"softmax()"}))
    assert not Outline("p = F.softmax(x, 1)\n").has_tokens(frozenset({"softmax()"}))


def test_a_file_is_cut_at_statements_only():
    text = (
        "x = 1 + \\\n2\n"  # a backslash continues the line
        "y = 3 + \\\r\n4\r\n"
        'z = """\nnot = a statement\n"""\n'
        "if x:\n    pass\nelse:\n    pass\n"
        "w = (1,\n)\n"
    )
    items = Outline(text).items
    assert [text[i.start : i.end].split("=")[0].split(":")[0].strip() for i in items] == ["x", "y", "z", "if x", "w"]


def test_the_flake8_gate_is_the_engines_word_boundary_gate():
    assert not may_report("import logging\nlogger = logging.getLogger(__name__)\nexplicit = True\n")
    assert may_report("import torch\ny = torch.log(x)\n")


def test_imports_are_read_in_one_pass_with_the_same_bindings():
    text = textwrap.dedent(
        """\
        import os
        import torch.nn.functional as F
        from torch import (
            nn,
            optim as o,
        )
        x = 1
        from .models import Net
        from . import *
        """
    )
    ctx = ModuleContext(Outline(text), "pkg/train.py", module_name="pkg.train")
    assert ctx.import_items == {
        0: [("os", "os")],
        1: [("F", "torch.nn.functional")],
        2: [("nn", "torch.nn"), ("o", "torch.optim")],
        4: [("Net", "pkg.models.Net")],
        5: [],
    }


def test_a_future_import_after_another_import_falls_back_to_one_parse_per_statement():
    """Together these do not parse (a late ``__future__`` import); one by one each does."""
    text = "import os\nfrom __future__ import annotations\nimport torch\n"
    ctx = ModuleContext(Outline(text), "m.py", module_name="m")
    assert ctx.import_items == {
        0: [("os", "os")],
        1: [("annotations", "__future__.annotations")],
        2: [("torch", "torch")],
    }


def test_a_methods_self_is_read_from_its_header_without_parsing_its_body():
    text = textwrap.dedent(
        """\
        class Model:
            def forward(this, x):
                return x

            @staticmethod
            def make(x):
                return x

            @classmethod
            def build(cls, x):
                return cls()

            @torch.no_grad()
            def predict(self, x, *args):
                return x
        """
    )
    ctx = ModuleContext(Outline(text), "m.py", module_name="m")
    cls = ctx.class_for_item(ctx.outline.items[0])
    found = {m.name: (m.is_method, m.self_name) for m in (cls.methods(n)[0] for n in ("forward", "make", "build", "predict"))}
    assert found == {
        "forward": (True, "this"),
        "make": (False, None),
        "build": (True, None),
        "predict": (True, "self"),
    }
    assert ctx.outline.parsed_lines == 0  # no LibCST parse was needed for any of it


def _package(tmp_path: Path, modules: int) -> list[Path]:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "common.py").write_text("import torch.nn as nn\nCRIT = nn.CrossEntropyLoss()\n")
    files = []
    for i in range(modules):
        file = tmp_path / "pkg" / f"m{i}.py"
        (tmp_path / "pkg" / f"other{i}.py").write_text(f"import torch.nn as nn\nCRIT{i} = nn.NLLLoss()\n")
        file.write_text(
            f"from pkg.common import CRIT\nfrom pkg.other{i} import CRIT{i}\n\n"
            f"def f{i}(x, y):\n    return CRIT(x, y) + CRIT{i}(x, y)\n"
        )
        files.append(file)
    return files


def test_a_module_every_file_imports_is_analysed_once(tmp_path, monkeypatch):
    files = _package(tmp_path, 12)
    index = ProjectIndex([tmp_path])
    built: list[Path] = []
    original = ProjectIndex._build

    def counting(self, path):
        built.append(path)
        return original(self, path)

    monkeypatch.setattr(ProjectIndex, "_build", counting)
    monkeypatch.setattr(project_module, "MAX_CONTEXT_CHARS", 200)  # room for three modules only
    for file in files:
        view = index.view(file)
        FileCheck(file.read_text(), str(file), CheckSettings(project=view, module_name=f"pkg.{file.stem}")).run()
        index.trim()
    common = tmp_path / "pkg" / "common.py"
    assert built.count(common.resolve()) == 1  # used by every file: never the least recently used
    assert len(set(built)) == len(built)  # and no other module was built twice
    assert index._weight <= 200 and len(index._contexts) < 12  # the others were forgotten


def _excluded_one_pattern_at_a_time(path: Path, patterns, root: Path) -> bool:
    """The reading ``files.excluded`` had before its patterns were joined (the reference)."""
    rel = path.relative_to(root)
    for pattern in patterns:
        if "/" in pattern:
            posix = rel.as_posix()
            if fnmatch.fnmatch(posix, pattern) or fnmatch.fnmatch(posix, pattern.rstrip("/") + "/*"):
                return True
        elif any(fnmatch.fnmatch(part, pattern) for part in rel.parts):
            return True
    return False


def test_exclude_patterns_joined_match_as_one_pattern_at_a_time(tmp_path):
    patterns = (*DEFAULT_EXCLUDES, "*_pb2.py", "vendor/*", "docs/", "gen?", "[ab]uild", "a/b/c.py")
    paths = [
        "pkg/mod.py", "build/x.py", "pkg/build/x.py", "pkg/api_pb2.py", "vendor/lib/x.py", "src/vendor/x.py",
        "docs/conf.py", "docs", "gen1/x.py", "gen12/x.py", "auild/x.py", "cuild/x.py", "a/b/c.py", "a/b/c.pyi",
        ".venv/lib/x.py", "x.venv/y.py", "__pycache__/m.py", "node_modules", "pkg/site-packages/x.py",
    ]
    for rel in paths:
        path = tmp_path / rel
        assert excluded(path, patterns, tmp_path) == _excluded_one_pattern_at_a_time(path, patterns, tmp_path), rel
    assert excluded(tmp_path / "pkg/build/x.py", patterns, tmp_path)
    assert not excluded(tmp_path / "pkg/mod.py", patterns, tmp_path)
    assert not excluded(tmp_path / "x.py", (), tmp_path)


def test_a_module_lookup_shared_by_a_folders_files_still_depends_on_the_folder(tmp_path):
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "helpers.py").write_text(f"NAME = {folder!r}\n")
        (tmp_path / folder / "a.py").write_text("import helpers\n")
        (tmp_path / folder / "b.py").write_text("import helpers\n")
    index = ProjectIndex([tmp_path])
    one = index.find_module("helpers", tmp_path / "one" / "a.py")
    assert one == (tmp_path / "one" / "helpers.py").resolve()
    assert index.find_module("helpers", tmp_path / "one" / "b.py") == one
    assert index.find_module("helpers", tmp_path / "two" / "a.py") == (tmp_path / "two" / "helpers.py").resolve()
