"""Jupyter notebooks: check and fix the code cells of an ``.ipynb``.

The code cells are joined into one virtual module (in order, so a name defined in one cell is
known in the next), each followed by a boundary comment. IPython lines (``%magic``, ``!shell``,
``x = !cmd``, ``obj?``) become ``pass`` at the same indentation; a cell magic (``%%bash``) masks
its whole cell. Findings are reported by cell (1-based, counting every cell) and line in the cell;
fixes are applied to the virtual module, cut back into cells at the boundaries, and the notebook is
written with its own JSON layout (indent, key order, trailing newline) and nothing else changed.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from logitlint.diagnostics import Diagnostic, Edit, Related, Span

BOUNDARY = "# logitlint: end of cell {}"
_BOUNDARY = re.compile(r"^# logitlint: end of cell (\d+)$", re.M)
# %magic, !shell, x = !shell, x = %magic, obj? / obj??
_IPYTHON_LINE = re.compile(r"^\s*(?:[%!]|\w+\s*=\s*[%!]|[\w.]+\?\??\s*$)")


class NotebookError(Exception):
    pass


@dataclass
class CellProgram:
    """Code cells joined into one virtual module, and the way back from its lines to the cells'.

    Cells are numbered from 1 counting every cell (markdown too), as Jupyter shows them."""

    cells: list[int]  # indices (0-based, among all cells) of the code cells in the virtual module
    virtual: str
    line_map: list[tuple[int, int]]  # virtual line - 1 -> (cell index, line in cell), (-1, 0) for boundaries
    masked: dict[int, dict[int, str]]  # cell index -> {line in cell: original IPython line}

    @classmethod
    def join(cls, sources: Iterable[str | None]) -> CellProgram:
        """The program of a notebook's cells, in order: each a code cell's text or None (not code)."""
        parts: list[str] = []
        line_map: list[tuple[int, int]] = []
        masked: dict[int, dict[int, str]] = {}
        cells = []
        for index, source in enumerate(sources):
            if source is None:
                continue
            lines = source.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            if lines and lines[0].lstrip().startswith("%%"):
                continue  # a cell magic: the cell is not Python
            cells.append(index)
            for number, line in enumerate(lines, start=1):
                if _IPYTHON_LINE.search(line):
                    masked.setdefault(index, {})[number] = line
                    line = line[: len(line) - len(line.lstrip())] + "pass"
                parts.append(line)
                line_map.append((index, number))
            parts.append(BOUNDARY.format(index))
            line_map.append((-1, 0))
        return cls(cells, "\n".join(parts) + "\n", line_map, masked)

    def rebased(self, virtual: str) -> CellProgram:
        """The same cells after a fix changed the virtual module (lines added or removed): the
        positions come from its cell boundaries."""
        if virtual == self.virtual:
            return self
        line_map: list[tuple[int, int]] = []
        pending = 0  # lines of the current cell seen before its boundary
        for line in virtual.split("\n")[:-1]:
            boundary = _BOUNDARY.match(line)
            if boundary is None:
                pending += 1
                continue
            index = int(boundary.group(1))
            line_map.extend((index, number) for number in range(1, pending + 1))
            line_map.append((-1, 0))
            pending = 0
        line_map.extend((-1, 0) for _ in range(pending))
        return CellProgram(self.cells, virtual, line_map, self.masked)

    # --- positions ---------------------------------------------------------------------------
    def to_cell(self, line: int) -> tuple[int, int]:
        if 0 < line <= len(self.line_map):
            return self.line_map[line - 1]
        return -1, 0

    def place(self, line: int) -> str:
        """A virtual line as a message names it: ``cell 4, line 3``."""
        cell, in_cell = self.to_cell(line)
        return f"cell {cell + 1}, line {in_cell}" if cell >= 0 else f"line {line}"

    def diagnostic(self, d: Diagnostic) -> Diagnostic:
        """A finding in the virtual module, as a finding in a cell (lines relative to the cell)."""
        cell, line = self.to_cell(d.span.line)
        end_cell, end_line = self.to_cell(d.span.end_line)
        span = Span(line, d.span.col, end_line if end_cell == cell else line, d.span.end_col)
        related = tuple(self._related(r) if r.path == d.path else r for r in d.related)
        fix = d.fix
        if fix is not None:
            edits = [self._edit(edit) for edit in fix.edits]
            fix = replace(fix, edits=tuple(edits)) if None not in edits else None
        return replace(d, span=span, cell=cell + 1, related=related, fix=fix)

    def _related(self, related: Related) -> Related:
        cell, line = self.to_cell(related.line)
        return replace(related, line=line, cell=cell + 1) if cell >= 0 else related

    def _edit(self, edit: Edit) -> Edit | None:
        """An edit of the virtual module as an edit of one cell (None if it spans cells)."""
        cell, start = self.to_cell(edit.span.line)
        end_cell, end = self.to_cell(edit.span.end_line)
        if cell == -1 and edit.span == Span(edit.span.line, 0, edit.span.line, 0):
            cell, start = end_cell, end = self.to_cell(edit.span.line + 1)  # inserted between cells: the next one
        if cell == -1 or end_cell != cell:
            return None
        return Edit(Span(start, edit.span.col, end, edit.span.end_col), edit.text, cell + 1)


@dataclass
class Notebook(CellProgram):
    """An ``.ipynb`` file: its cells' program, and its JSON for writing fixes back."""

    data: dict = field(default_factory=dict)
    raw: str = ""

    @classmethod
    def parse(cls, raw: str) -> Notebook:
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise NotebookError(f"not a notebook: invalid JSON ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
            raise NotebookError("not a notebook: no list of cells")
        sources = [
            _source_text(cell.get("source", "")) if isinstance(cell, dict) and cell.get("cell_type") == "code" else None
            for cell in data["cells"]
        ]
        program = CellProgram.join(sources)
        return cls(program.cells, program.virtual, program.line_map, program.masked, data, raw)

    # --- writing back ------------------------------------------------------------------------
    def with_virtual(self, virtual: str) -> str:
        """The notebook's JSON text with the code cells taken from a (fixed) virtual module."""
        pieces = _BOUNDARY.split(virtual)
        # split() alternates: text, cell index, text, cell index, ..., trailing text
        texts = {int(pieces[i + 1]): pieces[i] for i in range(0, len(pieces) - 1, 2)}
        changed = False
        for index in self.cells:
            text = texts.get(index)
            if text is None:
                raise NotebookError("a cell boundary was lost while fixing")
            text = text[1:] if text.startswith("\n") else text
            lines = text.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            for number, original in self.masked.get(index, {}).items():
                if number <= len(lines) and lines[number - 1].strip() == "pass":
                    lines[number - 1] = original
            cell = self.data["cells"][index]
            old = _source_text(cell.get("source", ""))
            new = "\n".join(lines) + ("\n" if old.endswith("\n") else "")
            if new != old:
                cell["source"] = _source_like(cell.get("source", ""), new)
                changed = True
        return self.dumps() if changed else self.raw

    def dumps(self) -> str:
        indent = _indent_of(self.raw)
        text = json.dumps(self.data, indent=indent, ensure_ascii=False)
        return text + ("\n" if self.raw.endswith("\n") else "")


def cell_diff(original: str, fixed: str, path: str) -> list[str]:
    """A unified diff per changed code cell, each headed with the cell (as ruff shows notebooks),
    instead of a diff of the notebook's JSON."""
    before, after = json.loads(original)["cells"], json.loads(fixed)["cells"]
    lines: list[str] = []
    for number, (old, new) in enumerate(zip(before, after), start=1):
        if not isinstance(old, dict) or old.get("cell_type") != "code":
            continue
        a, b = _source_text(old.get("source", "")), _source_text(new.get("source", ""))
        if a != b:
            name = f"{path.lstrip('/')}:cell {number}"
            lines.extend(
                difflib.unified_diff(
                    _with_final_newline(a).splitlines(keepends=True),
                    _with_final_newline(b).splitlines(keepends=True),
                    fromfile=f"a/{name}",
                    tofile=f"b/{name}",
                )
            )
    return lines


def _with_final_newline(text: str) -> str:
    return text if text.endswith("\n") or not text else text + "\n"


def _source_text(source) -> str:
    if isinstance(source, list):
        if not all(isinstance(line, str) for line in source):
            raise NotebookError("not a notebook: a cell's source is a list holding non-strings")
        return "".join(source)
    return str(source)


def _source_like(original, text: str):
    """Keep the notebook's own choice: a list of lines (nbformat's) or one string."""
    if isinstance(original, list):
        return text.splitlines(keepends=True)
    return text


def _indent_of(raw: str) -> int | None:
    match = re.search(r"\n( +)\"", raw)
    return len(match.group(1)) if match else None


def cell_lines(raw: str, cell: int) -> list[str]:
    """The lines of a cell (1-based), for excerpts."""
    try:
        data = json.loads(raw)
        return _source_text(data["cells"][cell - 1].get("source", "")).split("\n")
    except (ValueError, KeyError, IndexError, TypeError, NotebookError):
        return []
