"""Notebook documents (LSP 3.17): the open cells as one program, and findings back per cell.

The cells' texts are joined directly (``CellProgram.join``), as the CLI joins an ``.ipynb``'s code
cells; no notebook JSON is made in between."""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types
from pygls.workspace import Workspace

from logitlint.diagnostics import Diagnostic
from logitlint.notebooks import CellProgram


@dataclass(frozen=True)
class Cell:
    number: int  # 1-based, every cell counting, as the CLI and Jupyter number them
    uri: str
    version: int | None
    text: str


@dataclass
class OpenNotebook:
    uri: str
    cells: list[Cell]
    program: CellProgram

    def cell(self, number: int) -> Cell | None:
        return self.cells[number - 1] if 0 < number <= len(self.cells) else None

    def by_cell(self, found: list[Diagnostic]) -> dict[str, list[Diagnostic]]:
        """Findings of the joined program as findings of each cell (by the cell's uri)."""
        result: dict[str, list[Diagnostic]] = {cell.uri: [] for cell in self.cells}
        for d in found:
            mapped = self.program.diagnostic(d)
            cell = self.cell(mapped.cell or 0)
            if cell is not None:
                result[cell.uri].append(mapped)
        return result


def notebook_of(workspace: Workspace, uri: str) -> types.NotebookDocument | None:
    """The notebook a uri names, as the notebook or as one of its cells."""
    return workspace.get_notebook_document(notebook_uri=uri) or workspace.get_notebook_document(cell_uri=uri)


def is_cell(workspace: Workspace, uri: str) -> bool:
    return workspace.get_notebook_document(cell_uri=uri) is not None


def open_notebook(workspace: Workspace, notebook: types.NotebookDocument) -> OpenNotebook:
    cells = []
    for number, cell in enumerate(notebook.cells, start=1):
        document = workspace.get_text_document(cell.document)
        cells.append(Cell(number, document.uri, document.version, document.source))
    code = [
        cell.text if kind.kind == types.NotebookCellKind.Code else None for cell, kind in zip(cells, notebook.cells)
    ]
    return OpenNotebook(notebook.uri, cells, CellProgram.join(code))
