"""The language server, end to end over stdio: ``logitlint lsp`` started as a subprocess and driven
by a real LSP client (pytest-lsp)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

pytest_lsp = pytest.importorskip("pytest_lsp")
from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities  # noqa: E402

from tests.conftest import FIXTURES, ROOT  # noqa: E402
from tests.test_parse_reuse import TWINS  # noqa: E402  # a method repeated in two classes

BEFORE = (FIXTURES / "fixes" / "LGT101-direct" / "before.py").read_text()
AFTER = (FIXTURES / "fixes" / "LGT101-direct" / "after.py").read_text()
SAFE_BEFORE = (FIXTURES / "fixes" / "LGT201-direct" / "before.py").read_text()
SAFE_AFTER = (FIXTURES / "fixes" / "LGT201-direct" / "after.py").read_text()
CLEAN = (
    "import torch.nn.functional as F\n\n\ndef compute(logits, target):\n    return F.cross_entropy(logits, target)\n"
)


SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "logitlint", "lsp"])


async def start(lsp_client: LanguageClient, root: Path, client: str = "visual-studio-code", **options) -> None:
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(client),
            root_uri=root.as_uri(),
            initialization_options={"debounceMs": 50, **options},
        )
    )


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, tmp_path):
    await start(lsp_client, tmp_path)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=SERVER)
async def neovim_client(lsp_client: LanguageClient, tmp_path):
    """Neovim 0.11's capabilities: no disabled code actions."""
    await start(lsp_client, tmp_path, client="neovim@v0.11.0")
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=SERVER)
async def configured_client(lsp_client: LanguageClient, tmp_path):
    """initializationOptions override the workspace's pyproject.toml."""
    (tmp_path / "pyproject.toml").write_text('[tool.logitlint]\nignore = ["LGT101"]\n')
    await start(lsp_client, tmp_path, select=["LGT1"], ignore=["LGT104", "LGT108"], unsafeFixes=True)
    yield
    await lsp_client.shutdown_session()


async def open_document(client: LanguageClient, path: Path, text: str) -> str:
    uri = path.as_uri()
    client.diagnostics.pop(uri, None)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        )
    )
    await wait_for_diagnostics(client, uri, lambda found: True)
    return uri


async def wait_for_diagnostics(client: LanguageClient, uri: str, expected) -> list[types.Diagnostic]:
    """Wait until the diagnostics published for ``uri`` satisfy ``expected``. The wait for the next
    notification is registered before the current diagnostics are read, so a notification that
    arrives in between is not missed (that race timed out under load)."""
    for _ in range(100):
        published = client.protocol.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        found = client.diagnostics.get(uri)
        if found is not None and expected(list(found)):
            return list(found)
        await asyncio.wait_for(asyncio.wrap_future(published), timeout=60)
    raise AssertionError(f"diagnostics for {uri} never as expected: {client.diagnostics.get(uri)}")


def apply(text: str, edits: list[types.TextEdit]) -> str:
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(position: types.Position) -> int:
        return starts[position.line] + position.character  # ASCII test texts: UTF-16 units are characters

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


def edits_of(action: types.CodeAction, uri: str) -> list[types.TextEdit]:
    (change,) = action.edit.document_changes
    assert change.text_document.uri == uri
    return list(change.edits)


@pytest_lsp.fixture(config=SERVER)
async def misconfigured_client(lsp_client: LanguageClient, tmp_path):
    await start(lsp_client, tmp_path, select=["NOPE1"])
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_diagnostic_and_quick_fix(client: LanguageClient, tmp_path):
    uri = await open_document(client, tmp_path / "train.py", BEFORE)
    (diagnostic,) = client.diagnostics[uri]
    assert diagnostic.code == "LGT101" and diagnostic.source == "logitlint"
    assert diagnostic.severity == types.DiagnosticSeverity.Error
    assert diagnostic.range == types.Range(types.Position(12, 27), types.Position(12, 51))  # F.softmax(logits, dim=1)
    assert diagnostic.code_description.href.endswith("#lgt101-softmax-into-cross-entropy")

    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic], only=[types.CodeActionKind.QuickFix]),
        )
    )
    titles = [a.title for a in actions]
    fix = next(a for a in actions if a.title.startswith("Pass logits"))
    assert "changes the loss value" in fix.title and fix.kind == types.CodeActionKind.QuickFix
    assert apply(BEFORE, edits_of(fix, uri)) == AFTER
    noqa = next(a for a in actions if a.title == "Disable LGT101 for this line")
    assert "# noqa: LGT101" in apply(BEFORE, edits_of(noqa, uri)).splitlines()[12]
    assert len(titles) == 2


@pytest.mark.asyncio
async def test_change_to_clean_code_clears_diagnostics(client: LanguageClient, tmp_path):
    uri = await open_document(client, tmp_path / "train.py", BEFORE)
    assert client.diagnostics[uri]
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=CLEAN)],
        )
    )
    assert await wait_for_diagnostics(client, uri, lambda found: found == []) == []


@pytest.mark.asyncio
async def test_a_method_repeated_in_two_classes_is_reported_in_both(client: LanguageClient, tmp_path):
    """The server's parse cache keeps a tree per unit, not per text: the second copy still gets its
    finding (it was lost when both units shared their nodes), before and after an edit above them."""
    uri = await open_document(client, tmp_path / "twins.py", TWINS)
    assert sorted(d.range.start.line for d in client.diagnostics[uri]) == [5, 10]
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text="import torch\n" + TWINS)],
        )
    )
    found = await wait_for_diagnostics(client, uri, lambda found: {d.range.start.line for d in found} == {6, 11})
    assert [d.code for d in found] == ["LGT101", "LGT101"]


@pytest.mark.asyncio
async def test_close_clears_diagnostics(client: LanguageClient, tmp_path):
    uri = await open_document(client, tmp_path / "train.py", BEFORE)
    assert client.diagnostics[uri]
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert await wait_for_diagnostics(client, uri, lambda found: found == []) == []


@pytest.mark.asyncio
async def test_fix_all(client: LanguageClient, tmp_path):
    text = SAFE_BEFORE + BEFORE.split('"""', 2)[2].replace("def compute", "def other")
    uri = await open_document(client, tmp_path / "model.py", text)
    assert {d.code for d in client.diagnostics[uri]} == {"LGT201", "LGT101"}
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(0, 0), types.Position(0, 0)),
            context=types.CodeActionContext(diagnostics=[], only=["source.fixAll.logitlint"]),
        )
    )
    (fix_all,) = actions
    assert fix_all.kind == "source.fixAll.logitlint" and fix_all.title == "Fix all safe logitlint findings"
    fixed = apply(text, edits_of(fix_all, uri))
    assert fixed.startswith(SAFE_AFTER)  # the safe fix applied...
    assert "F.cross_entropy(F.softmax(logits, dim=1), target)" in fixed  # ...the unsafe one left


@pytest.mark.asyncio
async def test_syntax_error_no_crash_no_stale_diagnostics(client: LanguageClient, tmp_path):
    uri = await open_document(client, tmp_path / "train.py", BEFORE)
    assert client.diagnostics[uri]
    broken = BEFORE.replace("def compute(logits, target):", "def compute(logits, target:")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=broken)],
        )
    )
    assert await wait_for_diagnostics(client, uri, lambda found: found == []) == []
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=3),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=BEFORE)],
        )
    )
    found = await wait_for_diagnostics(client, uri, lambda found: found != [])
    assert [d.code for d in found] == ["LGT101"]  # the server is alive


@pytest.mark.asyncio
async def test_related_location_across_files(client: LanguageClient, tmp_path):
    project = FIXTURES / "projects" / "script_style"
    (tmp_path / "models.py").write_text((project / "models.py").read_text())
    uri = await open_document(client, tmp_path / "train.py", (project / "train.py").read_text())
    (diagnostic,) = client.diagnostics[uri]
    assert diagnostic.code == "LGT107"
    (related,) = diagnostic.related_information
    assert related.location.uri == (tmp_path / "models.py").as_uri() and related.location.range.start.line == 8


@pytest.mark.asyncio
async def test_related_location_of_the_call_site(client: LanguageClient, tmp_path):
    """A finding that holds for one caller (issue 12) shows that call site in the editor."""
    project = FIXTURES / "projects" / "flow"
    for name in ("main.py", "models.py", "train.py"):
        (tmp_path / name).write_text((project / name).read_text())
    train = (project / "train.py").read_text()
    uri = await open_document(client, tmp_path / "train.py", train)
    line = next(i for i, text in enumerate(train.splitlines()) if "loss = criterion(model(x), y)" in text)
    found = await wait_for_diagnostics(client, uri, lambda found: any(d.range.start.line == line for d in found))
    (diagnostic,) = [d for d in found if d.range.start.line == line]
    call = next(i for i, text in enumerate((project / "main.py").read_text().splitlines()) if "train(model," in text)
    locations = {(r.location.uri, r.location.range.start.line) for r in diagnostic.related_information}
    assert ((tmp_path / "main.py").as_uri(), call) in locations
    assert "when called from" in diagnostic.message


@pytest.mark.asyncio
async def test_save_reanalyses_with_changed_dependency(client: LanguageClient, tmp_path):
    """The model file loses its softmax and is saved: the open training script is analysed again."""
    project = FIXTURES / "projects" / "script_style"
    models = tmp_path / "models.py"
    models.write_text((project / "models.py").read_text())
    uri = await open_document(client, tmp_path / "train.py", (project / "train.py").read_text())
    assert [d.code for d in client.diagnostics[uri]] == ["LGT107"]
    fixed_model = models.read_text().replace("nn.Softmax(dim=1)", "nn.Identity()")
    models_uri = await open_document(client, models, models.read_text())
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=models_uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed_model)],
        )
    )
    models.write_text(fixed_model)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=models_uri))
    )
    assert await wait_for_diagnostics(client, uri, lambda found: found == []) == []


@pytest.mark.asyncio
async def test_initialization_options_override_workspace_config(configured_client: LanguageClient, tmp_path):
    client = configured_client
    kl_div = "\n\ndef distill(s, t):\n    return F.kl_div(F.softmax(s, dim=1), t)\n"
    text = BEFORE + SAFE_BEFORE.split('"""', 2)[2] + kl_div
    uri = await open_document(client, tmp_path / "train.py", text)
    assert [d.code for d in client.diagnostics[uri]] == ["LGT101"]  # select LGT1 drops LGT201; LGT104, LGT108 ignored
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(0, 0), types.Position(0, 0)),
            context=types.CodeActionContext(diagnostics=[], only=["source.fixAll"]),
        )
    )
    (fix_all,) = actions  # unsafeFixes: fix-all includes the unsafe LGT101 fix, and only selected rules
    assert fix_all.title == "Fix all logitlint findings (including unsafe fixes)"  # and says so
    fixed = apply(text, edits_of(fix_all, uri))
    assert fixed.startswith(AFTER) and "F.kl_div(F.softmax(s, dim=1), t)" in fixed


@pytest.mark.asyncio
async def test_workspace_config_and_initialization_options(client: LanguageClient, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.logitlint]\nignore = ["LGT101"]\n')
    uri = await open_document(client, tmp_path / "train.py", BEFORE + SAFE_BEFORE.split('"""', 2)[2])
    assert [d.code for d in client.diagnostics[uri]] == ["LGT201"]


def open_notebook(client: LanguageClient, path: Path, cells: list[str]) -> list[str]:
    notebook_uri = path.as_uri()
    cell_uris = [f"{notebook_uri}#cell{i}" for i in range(len(cells))]
    for uri in cell_uris:
        client.diagnostics.pop(uri, None)
    client.notebook_document_did_open(
        types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=notebook_uri,
                notebook_type="jupyter-notebook",
                version=1,
                cells=[types.NotebookCell(kind=types.NotebookCellKind.Code, document=u) for u in cell_uris],
            ),
            cell_text_documents=[
                types.TextDocumentItem(uri=u, language_id="python", version=1, text=t) for u, t in zip(cell_uris, cells)
            ],
        )
    )
    return cell_uris


@pytest.mark.asyncio
async def test_notebook_fix_adds_its_import_to_the_cell_with_the_imports(client: LanguageClient, tmp_path):
    cells = ["from torch import log, sigmoid\nx = 2.0", "lp = log(sigmoid(x))"]
    cell_uris = open_notebook(client, tmp_path / "train.ipynb", cells)
    (diagnostic,) = await wait_for_diagnostics(client, cell_uris[1], lambda found: True)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=cell_uris[1]),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic], only=[types.CodeActionKind.QuickFix]),
        )
    )
    fix = next(a for a in actions if a.title.startswith("Use F.logsigmoid"))
    changes = {change.text_document.uri: list(change.edits) for change in fix.edit.document_changes}
    assert (
        apply(cells[0], changes[cell_uris[0]])
        == "from torch import log, sigmoid\nimport torch.nn.functional as F\nx = 2.0"
    )
    assert apply(cells[1], changes[cell_uris[1]]) == "lp = F.logsigmoid(x)"


@pytest.mark.asyncio
async def test_notebook_cells(client: LanguageClient, tmp_path):
    cells = [
        "import torch\nimport torch.nn.functional as F",
        "%matplotlib inline\nlogp = torch.log(F.softmax(x, dim=1))",
    ]
    cell_uris = open_notebook(client, tmp_path / "train.ipynb", cells)
    diagnostics = await wait_for_diagnostics(client, cell_uris[1], lambda found: True)
    (diagnostic,) = diagnostics
    assert diagnostic.code == "LGT201" and diagnostic.range.start == types.Position(1, 7)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=cell_uris[1]),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic], only=[types.CodeActionKind.QuickFix]),
        )
    )
    fix = next(a for a in actions if a.title.startswith("Use log_softmax"))
    assert apply(cells[1], edits_of(fix, cell_uris[1])).endswith("logp = F.log_softmax(x, dim=1)")


def test_server_module_imports_without_pygls_message():
    """Without the lsp extra, `logitlint lsp` says what to install (pygls hidden from a real run)."""
    import subprocess

    hide = "import sys; sys.modules['pygls'] = None; from logitlint.cli import main; raise SystemExit(main(['lsp']))"
    result = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "logitlint lsp needs pygls: pip install 'logitlint[lsp]'" in result.stderr
    assert ROOT.exists()


def test_latency_benchmark_runs():
    """The latency measurement (bench/lsp_latency.py) keeps working; its numbers are not asserted here."""
    import subprocess

    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "lsp_latency.py"), "--edits", "2", "--lines", "300"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "2 edits, debounce 150 ms subtracted: median" in result.stdout


def test_latency_benchmark_takes_any_real_file(tmp_path):
    """``--file`` works on a module that never imports ``F`` (or rebinds it), starts with a
    ``from __future__`` import and closes a bracket in column 0 (a line that is not a statement)."""
    import subprocess

    module = tmp_path / "real.py"
    module.write_text(
        "from __future__ import annotations\n\nimport torch\n\nF = None\nTABLE = {\n    'a': 1,\n}\n"
        + "".join(f"\n\ndef helper_{i}(x):\n    return x + {i}\n" for i in range(40))
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "lsp_latency.py"), "--file", str(module), "--edits", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "2 edits, debounce 150 ms subtracted: median" in result.stdout


def test_python_lsp_server_flake8_route(tmp_path):
    """The README's other route: python-lsp-server's flake8 plugin shows LGT codes (no quick fixes)."""
    import os
    import shutil

    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from lsp_latency import Client
    finally:
        sys.path.pop(0)
    target = tmp_path / "train.py"
    shutil.copy(ROOT / "examples" / "train_classifier.py", target)
    env_bin = os.path.dirname(sys.executable)  # pylsp runs the flake8 installed beside it
    client = Client(
        [sys.executable, "-m", "pylsp"], env={**os.environ, "PATH": env_bin + os.pathsep + os.environ["PATH"]}
    )
    try:
        client.send("initialize", {"processId": None, "capabilities": {}, "rootUri": tmp_path.as_uri()}, request=True)
        client.wait(lambda m: m.get("id") == 1)
        client.send("initialized", {})
        plugins = {
            "flake8": {"enabled": True},
            "pycodestyle": {"enabled": False},
            "pyflakes": {"enabled": False},
            "mccabe": {"enabled": False},
        }
        client.send("workspace/didChangeConfiguration", {"settings": {"pylsp": {"plugins": plugins}}})
        client.send(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": target.as_uri(),
                    "languageId": "python",
                    "version": 1,
                    "text": target.read_text(),
                }
            },
        )
        _, message = client.wait(
            lambda m: (
                m.get("method") == "textDocument/publishDiagnostics"
                and any(str(d.get("code")).startswith("LGT") for d in m["params"]["diagnostics"])
            )
        )
        found = [(d["code"], d["range"]["start"]["line"] + 1) for d in message["params"]["diagnostics"]]
        assert [f for f in found if f[0].startswith("LGT")] == [("LGT101", 24), ("LGT201", 33), ("LGT302", 35)]
    finally:
        client.close()


@pytest.mark.asyncio
async def test_bad_initialization_options_are_reported_and_defaults_kept(
    misconfigured_client: LanguageClient, tmp_path
):
    client = misconfigured_client
    uri = await open_document(client, tmp_path / "train.py", BEFORE)
    assert [d.code for d in client.diagnostics[uri]] == ["LGT101"]
    assert any("NOPE1" in m.message and m.type == types.MessageType.Error for m in client.messages)


@pytest.mark.asyncio
async def test_ranges_are_utf16_code_units(client: LanguageClient, tmp_path):
    """A non-BMP character before the finding counts as two UTF-16 units (LSP's default encoding)."""
    text = "import torch\nlabel = '\U0001f525'; logp = torch.log(torch.softmax(x, 1))\n"
    uri = await open_document(client, tmp_path / "emoji.py", text)
    (diagnostic,) = client.diagnostics[uri]
    assert diagnostic.range.start == types.Position(1, 21)  # 20 code points, 21 UTF-16 units
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic], only=[types.CodeActionKind.QuickFix]),
        )
    )
    fix = next(a for a in actions if a.title.startswith("Use"))
    (edit,) = [e for e in edits_of(fix, uri) if e.range.start.line == 1]
    assert edit.range == types.Range(types.Position(1, 21), types.Position(1, 51)) and "log_softmax" in edit.new_text


@pytest.mark.asyncio
async def test_disable_action_extends_an_existing_noqa_list(client: LanguageClient, tmp_path):
    text = "import torch\nlp = torch.log(torch.softmax(x, 1))  # noqa: E501   \n"
    uri = await open_document(client, tmp_path / "noqa.py", text)
    (diagnostic,) = client.diagnostics[uri]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic], only=[types.CodeActionKind.QuickFix]),
        )
    )
    noqa = next(a for a in actions if a.title == "Disable LGT201 for this line")
    fixed = apply(text, edits_of(noqa, uri))
    assert fixed.splitlines()[1] == "lp = torch.log(torch.softmax(x, 1))  # noqa: E501, LGT201   "
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)],
        )
    )
    assert await wait_for_diagnostics(client, uri, lambda found: found == []) == []  # suppressed


NO_FIX = """import torch
import torch.nn as nn


def step(model, x, y):
    out = torch.sigmoid(model(x))
    return nn.BCEWithLogitsLoss()(out, y)
"""
NO_FIX_REASON = "no fix: using the logits here would evaluate `model(x)` again"


async def actions_at(client: LanguageClient, uri: str, diagnostic: types.Diagnostic) -> list[types.CodeAction]:
    return await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic], only=[types.CodeActionKind.QuickFix]),
        )
    )


async def hover_text(client: LanguageClient, uri: str, at: types.Position) -> str | None:
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=at)
    )
    return None if hover is None else hover.contents.value


@pytest.mark.asyncio
async def test_a_finding_without_a_fix_says_why(client: LanguageClient, tmp_path):
    """LGT106 on a variable holding `torch.sigmoid(model(x))`: the quick-fix list has a disabled action
    with the reason (VS Code shows it faded, with the reason), and the hover says it too."""
    uri = await open_document(client, tmp_path / "train.py", NO_FIX)
    (diagnostic,) = client.diagnostics[uri]
    assert diagnostic.code == "LGT106"
    actions = await actions_at(client, uri, diagnostic)
    (reason,) = [a for a in actions if a.disabled is not None]
    assert reason.title == "No automatic fix for LGT106" and reason.disabled.reason.startswith(NO_FIX_REASON)
    assert reason.edit is None and [a.title for a in actions if a.disabled is None] == ["Disable LGT106 for this line"]
    text = await hover_text(client, uri, diagnostic.range.start)
    assert text.startswith("**LGT106** (sigmoid-into-bce-with-logits)") and "No fix: using the logits here" in text
    assert await hover_text(client, uri, types.Position(0, 0)) is None  # nothing to say off the finding


@pytest.mark.asyncio
async def test_hover_gives_the_reason_where_disabled_actions_are_not_shown(neovim_client: LanguageClient, tmp_path):
    """Neovim 0.11 does not declare disabled code actions: none is sent; the hover (K) has the reason."""
    uri = await open_document(neovim_client, tmp_path / "train.py", NO_FIX)
    (diagnostic,) = neovim_client.diagnostics[uri]
    actions = await actions_at(neovim_client, uri, diagnostic)
    assert [a.title for a in actions] == ["Disable LGT106 for this line"]
    assert "No fix: using the logits here" in await hover_text(neovim_client, uri, diagnostic.range.end)


@pytest.mark.asyncio
async def test_hover_over_a_fixable_finding_names_its_fix(client: LanguageClient, tmp_path):
    uri = await open_document(client, tmp_path / "train.py", BEFORE)
    (diagnostic,) = client.diagnostics[uri]
    text = await hover_text(client, uri, diagnostic.range.start)
    assert "Fix: Pass logits" in text and "unsafe" in text and "#lgt101-softmax-into-cross-entropy" in text


@pytest.mark.asyncio
async def test_notebook_messages_and_related_locations_are_the_cells_own(client: LanguageClient, tmp_path):
    """The softmax in cell 1 is named by its cell and line in the message, and the related location is
    in the cell's own document (not the notebook file, not a line of the joined program)."""
    cells = ["import torch\np = torch.softmax(x, 1)", "y = 1", "lp = torch.log(p)"]
    cell_uris = open_notebook(client, tmp_path / "train.ipynb", cells)
    (diagnostic,) = await wait_for_diagnostics(client, cell_uris[2], lambda found: True)
    assert diagnostic.code == "LGT201" and "`torch.softmax(...)` output, cell 1, line 2)" in diagnostic.message
    (related,) = diagnostic.related_information
    assert related.location.uri == cell_uris[0]
    assert related.location.range.start == types.Position(1, 4) and related.message == "softmax applied here"


def test_tree_comparison_benchmark_explains_itself():
    """bench/compare_trees.py (documented in the README) starts and rejects a tree that is not one."""
    import subprocess
    import sys

    script = str(ROOT / "bench" / "compare_trees.py")
    shown = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and "findings" in shown.stdout
    wrong = subprocess.run([sys.executable, script, "speed", "x=/nonexistent"], capture_output=True, text=True, timeout=60)
    assert wrong.returncode != 0 and "LABEL=DIR" in wrong.stderr
