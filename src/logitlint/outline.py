"""Splitting a file into separately parsed units, so that code that cannot matter is never parsed.

LibCST parses about 13k lines/s, so parsing every file of a large repository costs minutes. A file
is cut, with a regular expression, at each statement that starts in column 0 (and a class at each
statement of its body); the analysis parses a unit only when a rule's tokens occur in it or when a
fact it needs (``self.crit``, ``model``, a helper's return) is bound there. A cut made in the wrong
place (inside a string or brackets) leaves a unit that does not parse, and the file is then parsed
whole (``FullOutline``), so a wrong cut costs time, never findings.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from logitlint.cstparse import parse_module
from logitlint.diagnostics import Span
from logitlint.limits import check_parseable

# Every word a rule or the analysis keys on. A unit with none of these words (and no name the
# analysis is tracking) cannot produce a finding.
VOCABULARY = frozenset(
    """
    softmax log_softmax softmin Softmax LogSoftmax Softmin sigmoid Sigmoid logsigmoid LogSigmoid
    expit cross_entropy CrossEntropyLoss nll_loss NLLLoss kl_div KLDivLoss binary_cross_entropy
    binary_cross_entropy_with_logits BCELoss BCEWithLogitsLoss log log1p exp expm1 argmax sum
    keepdim logsumexp tensor as_tensor Tensor FloatTensor DoubleTensor HalfTensor Sequential
    add_module global nonlocal import
    """.split()
)
# A softmax-family call with a single argument: LGT301's token.
SOFTMAX_NODIM = "softmax()"
SOFTMAX_CALLABLES = frozenset({"softmax", "log_softmax", "softmin", "Softmax", "LogSoftmax", "Softmin"})
_SUBSTRING = {SOFTMAX_NODIM: "oftm"}  # what a token's text must contain: softmax, Softmin, LogSoftmax, ...


def boundary(indent: str) -> re.Pattern[str]:
    """Where a statement of a body indented by ``indent`` may start: a line at that indentation
    that does not continue a statement (``else``, a closing bracket, a backslash on the line before)."""
    found = _BOUNDARIES.get(indent)
    if found is None:
        # ``^`` matches only after "\n": the line before ends "\\\n", "\\\n\n" or "\\\r\n" if continued.
        found = _BOUNDARIES[indent] = re.compile(
            r"^(?<!\\\n)(?<!\\[\r\n]\n)" + re.escape(indent) + r"(?=[^\s#)\]}])(?!(?:else|elif|except|finally)\b)",
            re.M,
        )
    return found


_BOUNDARIES: dict[str, re.Pattern[str]] = {}
_DEF_OR_CLASS = re.compile(r"^[ \t]*(?:async[ \t]+def|def|class)[ \t]+(\w+)", re.M)
_KEYWORD = re.compile(r"[ \t]*(async[ \t]+def|def|class)[ \t]+(\w+)")
_NEWLINE = re.compile(r"\r\n|\r|\n")
# After ``x.attr``: an assignment (plain, annotated, augmented) or an element of a tuple target.
# Before ``name`` on its line: it is imported, defined, a loop or with target, or walrus-bound.
_BINDS_BEFORE = re.compile(r"(?:\b(?:def|class|global|nonlocal|del)\s+|\b(?:for|as|import)\b.*)$")
_ASSIGNED_AFTER = re.compile(
    r"\s*(?:(?::[^=\n]*)?(?:[-+*/%@&|^]|//|\*\*|<<|>>)?=(?!=)|,[^()\[\]{}\n=]*(?<![<>!=])=(?!=))"
)


def _word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


class UnitParseError(Exception):
    """A unit did not parse on its own: the cut was wrong or the file has a syntax error."""

    def __init__(self, message: str, path: str = ""):
        super().__init__(message)
        self.path = path


def scan_tokens(text: str) -> list[tuple[int, str]]:
    """Every vocabulary word of ``text`` as a whole word, in order. A substring test per word first
    (a C search), then a search for whole-word occurrences of only the words present: several times
    cheaper than one regular expression of fifty alternatives."""
    tokens = [(pos, word) for word in VOCABULARY if word in text for pos in word_offsets(text, word)]
    tokens.sort()
    extra = [
        (pos, SOFTMAX_NODIM)
        for pos, word in tokens
        if word in SOFTMAX_CALLABLES and _single_argument(text, pos + len(word))
    ]
    if extra:
        tokens = sorted(tokens + extra)
    return tokens


def word_offsets(text: str, word: str) -> list[int]:
    """Offsets of ``word`` in ``text`` as a whole word (not inside a longer name)."""
    found: list[int] = []
    size, length = len(word), len(text)
    pos = text.find(word)
    while pos >= 0:
        end = pos + size
        if (pos == 0 or not _word_char(text[pos - 1])) and (end == length or not _word_char(text[end])):
            found.append(pos)
        pos = text.find(word, end)
    return found


def matches_after_boundary(
    pattern: re.Pattern[str], text: str, inside: Callable[[str], bool] = _word_char
) -> Iterator[re.Match[str]]:
    """``pattern``'s matches in ``text`` that do not start right after a character ``inside``
    accepts (by default a name character: as if ``pattern`` began with ``\\b``). Write ``pattern``
    starting with its literal (``self\\.``): the regex engine then finds candidates with a fast
    literal scan, where a leading ``\\b`` or look-behind makes it try every offset (five times
    slower on model files). A rejected candidate is retried from the next offset, so nothing the
    look-behind pattern finds is lost."""
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        start = m.start()
        if start and inside(text[start - 1]):
            pos = start + 1
            continue
        yield m
        pos = max(m.end(), start + 1)


def findall_after_boundary(pattern: re.Pattern[str], text: str) -> list:
    """``pattern.findall(text)`` for the matches of ``matches_after_boundary``."""
    return [m.groups() if pattern.groups > 1 else m.group(pattern.groups) for m in matches_after_boundary(pattern, text)]


def may_contain(text: str, words: Iterable[str]) -> bool:
    """Could any of ``words`` (vocabulary tokens) occur in ``text``? A substring test only: False
    means certainly not, so the word scan can be skipped."""
    return any((_SUBSTRING.get(word, word)) in text for word in words)


def _single_argument(text: str, pos: int) -> bool:
    """Might the call starting at ``pos`` leave ``dim`` unset? (one argument, unpacking, or a
    ``None`` among its arguments)"""
    n = len(text)
    while pos < n and text[pos] in " \t":
        pos += 1
    if pos >= n or text[pos] != "(":
        return False
    depth = 0
    several = False
    for i in range(pos, min(n, pos + 2000)):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args = text[pos:i]
                return not several or "*" in args or "None" in args
        elif depth == 1 and c in ",=":
            several = True
    return True  # unbalanced or too long to tell: keep the unit


@dataclass
class ParsedUnit:
    """A LibCST module parsed from part of a file; maps its nodes back to file positions."""

    module: cst.Module
    line_delta: int
    text: str = ""  # the source parsed (for cheap textual pre-checks)
    path: str = ""  # the file it comes from
    cache: dict | None = field(default=None, repr=False)  # the parse cache the module came from
    _positions: object = field(default=None, repr=False)
    _codes: dict | None = field(default=None, repr=False)

    @cached_property
    def has_walrus(self) -> bool:
        return ":=" in self.text or not self.text

    def span(self, node: cst.CSTNode) -> Span:
        if self._positions is None:
            self._positions = self._cached_positions()
        rng = self._positions[node]
        return Span(
            rng.start.line + self.line_delta,
            rng.start.column,
            rng.end.line + self.line_delta,
            rng.end.column,
        )

    def _cached_positions(self):
        """Positions are kept beside a cached parse (an editor re-checks mostly unchanged code)."""
        return self._cached(
            "positions", lambda: MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider)
        )

    def code(self, node: cst.CSTNode) -> str:
        """A node's source, remembered beside a cached parse (the analysis asks for the same
        callee's text many times, and an editor re-checks mostly unchanged code)."""
        if self._codes is None:
            self._codes = self._cached("codes", dict)
        hit = self._codes.get(id(node))
        if hit is not None and hit[0] is node:  # the node is held with its text, so its id is not reused
            return hit[1]
        text = self.module.code_for_node(node)
        self._codes[id(node)] = (node, text)
        return text

    def _cached(self, kind: str, make):
        """Per-module state kept in the parse cache the module came from (or just for this unit)."""
        if self.cache is None:
            return make()
        key = (kind, id(self.module))
        hit = self.cache.get(key)
        if hit is not None and hit[0] is self.module:
            return hit[1]
        value = make()
        self.cache[key] = (self.module, value)
        return value


class RecentParses:
    """The units parsed last in this process, up to ``lines`` lines in all, by text: a repository
    repeats code (transformers copies a model's classes into the next one), and a unit read both as
    checked code and as an imported module's fact is parsed again after its context is trimmed.
    Replayed over the parses of a cold ``-j 1`` check of the transformers wheel, a 10,000-line
    window spares 15% of the lines LibCST parses."""

    def __init__(self, lines: int):
        self.capacity, self.size = lines, 0
        self._modules: OrderedDict[tuple[int, str], tuple[cst.Module, int]] = OrderedDict()

    def get(self, key: tuple[int, str]) -> cst.Module | None:
        hit = self._modules.get(key)
        if hit is None:
            return None
        self._modules.move_to_end(key)
        return hit[0]

    def __setitem__(self, key: tuple[int, str], module: cst.Module) -> None:
        """``key``: (n, text) for the n-th unit with that text in one file (``Outline.parse``)."""
        lines = key[1].count("\n") + 1
        if lines > self.capacity // 4:
            return  # a huge unit would push out everything else
        self._modules[key] = (module, lines)
        self.size += lines
        while self.size > self.capacity:
            _, (_, dropped) = self._modules.popitem(last=False)
            self.size -= dropped


RECENT_PARSES = RecentParses(lines=10_000)  # for runs without a cache of their own (the CLI, flake8)


def parse_text(text: str, cache: dict | RecentParses | None = None, key: Hashable = None) -> cst.Module:
    key = text if key is None else key
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            return hit
    check_parseable(text)  # raises TooComplex before LibCST could overflow its stack
    try:
        module = parse_module(text)
    except (cst.ParserSyntaxError, RecursionError, ValueError) as exc:
        raise UnitParseError(str(exc)) from None
    if cache is not None:
        cache[key] = module
    return module


class Item:
    """A statement of a module or class body: a function, a class or anything else."""

    kind: str  # "function" | "class" | "statement"
    name: str | None
    tokens: frozenset[str]

    def statements(self) -> list[tuple[cst.BaseStatement, ParsedUnit]]:
        raise NotImplementedError

    def mentions(self, word: str) -> bool:
        raise NotImplementedError

    def mentions_any(self, words: Iterable[str]) -> bool:
        return any(self.mentions(w) for w in words)

    def may_assign_attribute(self, attr: str) -> bool:
        """Might this item assign ``<something>.attr`` (or add it with add_module/setattr)?"""
        return self.mentions(attr)

    def may_bind(self, name: str) -> bool:
        """Might this (module-level statement) item bind ``name``? Over-approximated from text."""
        return self.mentions(name)

    def last_line(self) -> int:
        """The 1-based line of the item's last code (trailing comments and blank lines excluded)."""
        raise NotImplementedError


class LazyItem(Item):
    def __init__(self, outline: Outline, kind: str, name: str | None, start: int, end: int, indent: str):
        self.outline, self.kind, self.name = outline, kind, name
        self.start, self.end, self.indent = start, end, indent
        self._parsed: list[tuple[cst.BaseStatement, ParsedUnit]] | None = None

    @cached_property
    def tokens(self) -> frozenset[str]:  # type: ignore[override]
        return self.outline.tokens_between(self.start, self.end)

    @property
    def text(self) -> str:
        return self.outline.text[self.start : self.end]

    def may_assign_attribute(self, attr: str) -> bool:
        text = self.outline.text
        positions = self.outline.word_positions(attr)
        i = bisect.bisect_left(positions, self.start)
        while i < len(positions) and positions[i] < self.end:
            pos = positions[i]
            i += 1
            before = text[max(self.start, pos - 200) : pos].rstrip()
            if before.endswith(".") and _ASSIGNED_AFTER.match(text, pos + len(attr)):
                return True
            if before.endswith(("'", '"')) and ("add_module" in before or "setattr" in before):
                return True
        return False

    def may_bind(self, name: str) -> bool:
        text = self.outline.text
        positions = self.outline.word_positions(name)
        i = bisect.bisect_left(positions, self.start)
        while i < len(positions) and positions[i] < self.end:
            pos = positions[i]
            i += 1
            line_start = text.rfind("\n", 0, pos) + 1
            before = text[line_start:pos]
            if _BINDS_BEFORE.search(before) or _ASSIGNED_AFTER.match(text, pos + len(name)):
                return True
        return False

    def last_line(self) -> int:
        code = self.text.rstrip()
        while code.splitlines() and code.splitlines()[-1].lstrip().startswith("#"):
            code = "\n".join(code.splitlines()[:-1]).rstrip()
        return self.outline.line_of(self.start + len(code))

    def mentions(self, word: str) -> bool:
        positions = self.outline.word_positions(word)
        i = bisect.bisect_left(positions, self.start)
        return i < len(positions) and positions[i] < self.end

    @cached_property
    def code_tokens(self) -> frozenset[str]:
        """The unit's vocabulary words that may be code: those in a comment, or in a triple-quoted
        string without an ``f`` prefix (docstrings), are left out. Read from the positions already
        scanned (no parse); where it cannot tell, a word counts as code."""
        outline = self.outline
        return frozenset(word for pos, word in outline.tokens_at(self.start, self.end) if outline.may_be_code(pos))

    @cached_property
    def code_words(self) -> frozenset[str] | None:
        """The vocabulary words the unit's code uses (names, attributes, keywords, and strings other
        than docstrings), read with ``ast``: a word only in a comment or a docstring is not there.
        None if the unit does not parse alone (then its text words count)."""
        return code_words(self.text, wrapped=bool(self.indent))

    @cached_property
    def signature(self) -> tuple[tuple[str | None, ...], tuple[str, ...]] | None:
        """A function's (decorators' dotted names, positional parameter names), read with ``ast``
        from its header alone (no LibCST parse of the body); None if the header cannot be read so."""
        text = self.outline.text
        m = _DEF_OR_CLASS.search(text, self.start, self.end)
        colon = _header_colon(text, m.end(), self.end) if m is not None else None
        if colon is None:
            return None
        header = text[self.start : colon + 1]
        if self.indent:
            header = "if 1:\n" + header
        try:
            tree = ast.parse(header + " pass\n")
        except (SyntaxError, ValueError):
            return None
        node = tree.body[0].body[0] if self.indent else tree.body[0]  # type: ignore[attr-defined]
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        positional = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
        return tuple(_ast_dotted(d) for d in node.decorator_list), tuple(positional)

    def statements(self) -> list[tuple[cst.BaseStatement, ParsedUnit]]:
        if self._parsed is None:
            try:
                self._parsed = self._parse()
            except UnitParseError as exc:
                raise UnitParseError(str(exc), self.outline.path) from None
            self.outline.parsed_lines += self.text.count("\n") + 1
        return self._parsed

    def _parse(self) -> list[tuple[cst.BaseStatement, ParsedUnit]]:
        line = self.outline.line_of(self.start)
        if self.indent:  # a class member: parsed inside ``if 1:`` to keep its columns
            module = self.outline.parse("if 1:\n" + self.text)
            body = module.body[0].body.body  # type: ignore[attr-defined]
            unit = ParsedUnit(module, line - 2, self.text, self.outline.path, self.outline.cache)
        else:
            module = self.outline.parse(self.text)
            body = module.body
            unit = ParsedUnit(module, line - 1, self.text, self.outline.path, self.outline.cache)
        return [(stmt, unit) for stmt in body]


class LazyClassItem(LazyItem):
    """A class whose header and body statements are parsed separately, each on demand."""

    @cached_property
    def _layout(self) -> tuple[int, str] | None:
        """(offset where the body starts, body indentation) or None if it cannot be split."""
        text = self.outline.text
        m = _DEF_OR_CLASS.search(text, self.start, self.end)
        if m is None:
            return None
        colon = _header_colon(text, m.end(), self.end)
        if colon is None:
            return None
        eol = _NEWLINE.search(text, colon, self.end)
        if eol is None:
            return None
        rest = text[colon + 1 : eol.start()].strip()
        if rest and not rest.startswith("#"):
            return None  # class A: pass
        body = eol.end()
        for line in _NEWLINE.split(text[body : self.end]):
            stripped = line.lstrip(" \t")
            if stripped and not stripped.startswith("#"):
                indent = line[: len(line) - len(stripped)]
                return (body, indent) if indent else None
        return None

    def splittable(self) -> bool:
        return self._layout is not None

    def header(self) -> tuple[cst.ClassDef, ParsedUnit]:
        return self._header

    @cached_property
    def _header(self) -> tuple[cst.ClassDef, ParsedUnit]:
        if self._layout is None:
            ((node, unit),) = self.statements()
            return node, unit  # type: ignore[return-value]
        body, indent = self._layout
        text = self.outline.text[self.start : body]
        if not text.endswith(("\n", "\r")):
            text += "\n"
        try:
            module = self.outline.parse(text + indent + "pass\n")
        except UnitParseError as exc:
            raise UnitParseError(str(exc), self.outline.path) from None
        node = module.body[0]
        if not isinstance(node, cst.ClassDef):
            raise UnitParseError("class header did not parse as a class", self.outline.path)
        return node, ParsedUnit(
            module, self.outline.line_of(self.start) - 1, text, self.outline.path, self.outline.cache
        )

    @cached_property
    def members(self) -> list[Item]:
        if self._layout is None:
            ((node, unit),) = self.statements()
            return [FullItem(stmt, unit) for stmt in node.body.body]  # type: ignore[attr-defined]
        body, indent = self._layout
        return self.outline.split(body, self.end, boundary(indent), indent)


class FullItem(Item):
    """An item taken from a whole-file parse (fallback and the prefilter-off mode)."""

    def __init__(self, node: cst.BaseStatement, unit: ParsedUnit):
        self.node, self.unit = node, unit
        self.kind, self.name = _node_kind(node)
        self.tokens = VOCABULARY | {SOFTMAX_NODIM}

    def statements(self) -> list[tuple[cst.BaseStatement, ParsedUnit]]:
        return [(self.node, self.unit)]

    def mentions(self, word: str) -> bool:
        return True

    def last_line(self) -> int:
        return self.unit.span(self.node).end_line

    def header(self) -> tuple[cst.ClassDef, ParsedUnit]:
        return self.node, self.unit  # type: ignore[return-value]

    def splittable(self) -> bool:
        return False

    @cached_property
    def members(self) -> list[Item]:
        return [FullItem(stmt, self.unit) for stmt in self.node.body.body]  # type: ignore[attr-defined]


def _node_kind(node: cst.CSTNode) -> tuple[str, str | None]:
    if isinstance(node, cst.FunctionDef):
        return "function", node.name.value
    if isinstance(node, cst.ClassDef):
        return "class", node.name.value
    return "statement", None


class Outline:
    """The items of one file, parsed lazily (``prefilter=True``) or all at once."""

    def __init__(self, text: str, *, cache: dict | None = None, path: str = ""):
        self.text = text
        self.path = path
        self.cache = cache
        self.parsed_lines = 0
        self._has: dict[frozenset[str], bool] = {}
        self._line_starts: list[int] | None = None
        self._words: dict[str, list[int]] = {}
        self._uses: dict[str, int] = {}  # how many of this file's units were handed a text's parse

    def parse(self, text: str) -> cst.Module:
        """A unit's module, from the parse cache when it holds the text. The analysis keys what it
        learns by node, so two units of one file with the same text (a method repeated in two
        classes) must not share nodes: the n-th unit with a text has a cache entry of its own.
        (Each unit asks once: its statements and a class's header are kept.)"""
        uses = self._uses.get(text, 0)
        self._uses[text] = uses + 1
        return parse_text(text, RECENT_PARSES if self.cache is None else self.cache, key=(uses, text))

    @cached_property
    def _token_list(self) -> list[tuple[int, str]]:
        return scan_tokens(self.text)

    @cached_property
    def _token_offsets(self) -> list[int]:
        return [pos for pos, _ in self._token_list]

    @cached_property
    def tokens(self) -> frozenset[str]:
        return frozenset(word for _, word in self._token_list)

    def may_contain(self, words: Iterable[str]) -> bool:
        """False when no word of ``words`` can occur (substring tests; no scan)."""
        if "tokens" in self.__dict__:
            return not self.tokens.isdisjoint(words)
        return may_contain(self.text, words)

    def has_tokens(self, words: frozenset[str]) -> bool:
        """Does a word of ``words`` occur as a whole word? (the scan runs only if a substring does)"""
        found = self._has.get(words)
        if found is None:
            found = self._has[words] = self._has_any(words)
        return found

    def _has_any(self, words: frozenset[str]) -> bool:
        """``bool(self.tokens & words)``, without scanning for every vocabulary word: a file that
        has none of ``words`` (most of them, at the gate) is searched only for those."""
        if "tokens" in self.__dict__:
            return not self.tokens.isdisjoint(words)
        text = self.text
        if not may_contain(text, words):
            return False
        if any(word in VOCABULARY and word in text and self.word_positions(word) for word in words):
            return True
        return SOFTMAX_NODIM in words and SOFTMAX_NODIM in self.tokens

    def mentions_word(self, word: str) -> bool:
        return bool(self.word_positions(word))

    def word_positions(self, word: str) -> list[int]:
        """Offsets of ``word`` as a whole word (one scan of the file per word, then bisection)."""
        found = self._words.get(word)
        if found is None:
            found = self._words[word] = word_offsets(self.text, word)
        return found

    def items_mentioning(self, word: str) -> list[int]:
        """Indices, in order, of the items whose text holds ``word`` as a whole word: an item that
        binds a name mentions it, so a lookup reads these and not every item of the file."""
        starts = self._item_starts
        found: list[int] = []
        for pos in self.word_positions(word):
            i = bisect.bisect_right(starts, pos) - 1
            if i >= 0 and (not found or found[-1] != i):
                found.append(i)
        return found

    @cached_property
    def _item_starts(self) -> list[int]:
        return [item.start for item in self.items]  # type: ignore[attr-defined]  # the cuts are contiguous

    def tokens_at(self, start: int, end: int) -> list[tuple[int, str]]:
        lo = bisect.bisect_left(self._token_offsets, start)
        hi = bisect.bisect_left(self._token_offsets, end)
        return self._token_list[lo:hi]

    def may_be_code(self, pos: int) -> bool:
        """False if the text at ``pos`` is certainly in a comment or in a triple-quoted string that
        is not an f-string (so no rule can act on it)."""
        text = self.text
        line_start = text.rfind("\n", 0, pos) + 1
        before = text[line_start:pos]
        if "#" in before and not any(q in before[: before.index("#")] for q in "'\""):
            return False  # a comment (no quote before its '#', so the '#' is not in a string)
        spans = self._strings
        i = bisect.bisect_right(spans, pos)
        if i % 2 == 0:
            return True
        opening = prefix = spans[i - 1]
        while prefix > 0 and text[prefix - 1].isalpha():
            prefix -= 1
        return "f" in text[prefix:opening].lower()  # an f-string holds code

    def tokens_between(self, start: int, end: int) -> frozenset[str]:
        lo = bisect.bisect_left(self._token_offsets, start)
        hi = bisect.bisect_left(self._token_offsets, end)
        return frozenset(word for _, word in self._token_list[lo:hi])

    def line_of(self, offset: int) -> int:
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in _NEWLINE.finditer(self.text)]
        return bisect.bisect_right(self._line_starts, offset)

    @cached_property
    def items(self) -> list[Item]:
        return self.split(0, len(self.text), boundary(""), "")

    @cached_property
    def _strings(self) -> list[int]:
        """Start/end offsets (flattened) of triple-quoted strings, where no cut may fall."""
        return _triple_quoted_spans(self.text)

    def split(self, start: int, end: int, boundary: re.Pattern[str], indent: str) -> list[Item]:
        text = self.text
        cuts = [m.start() for m in boundary.finditer(text, start, end)]
        spans = self._strings
        if spans:
            cuts = [pos for pos in cuts if not bisect.bisect_right(spans, pos) % 2]  # not in a """string"""
        if not cuts:
            cuts = [start]
        elif cuts[0] != start:
            # Blank lines and comments before the first statement go with it (alone, in a class
            # body, they would not parse).
            lead = text[start : cuts[0]]
            if all(not line.strip() or line.lstrip().startswith("#") for line in _NEWLINE.split(lead)):
                cuts[0] = start
            else:
                cuts.insert(0, start)
        items: list[Item] = []
        pending: int | None = None  # start of decorator lines waiting for their def/class
        for i, cut in enumerate(cuts):
            stop = cuts[i + 1] if i + 1 < len(cuts) else end
            head = text[cut + len(indent) : cut + len(indent) + 1]
            if head == "@" or (pending is not None and not _KEYWORD.match(text, cut)):
                pending = cut if pending is None else pending
                if i + 1 < len(cuts):
                    continue
            begin = cut if pending is None else pending
            pending = None
            m = _KEYWORD.match(text, cut)
            if m is None:
                items.append(LazyItem(self, "statement", None, begin, stop, indent))
            elif m.group(1) == "class":
                items.append(LazyClassItem(self, "class", m.group(2), begin, stop, indent))
            else:
                items.append(LazyItem(self, "function", m.group(2), begin, stop, indent))
        return items


class FullOutline(Outline):
    """The whole file parsed at once: every item is present, nothing is skipped."""

    def __init__(self, text: str, *, cache: dict | None = None, path: str = ""):
        super().__init__(text, cache=cache, path=path)
        self.module = parse_text(text, cache)
        self.parsed_lines = text.count("\n") + 1

    @cached_property
    def items(self) -> list[Item]:
        unit = ParsedUnit(self.module, 0, self.text, self.path)
        return [FullItem(stmt, unit) for stmt in self.module.body]

    def items_mentioning(self, word: str) -> list[int]:
        return list(range(len(self.items)))  # a whole parse is not searched by text


_TRIPLE = re.compile(r"\"\"\"|\'\'\'|\\.")


def _triple_quoted_spans(text: str) -> list[int]:
    """Pair up triple quotes in order. A quote inside a comment or a one-line string can pair
    wrongly; the cut it causes then fails to parse and the file is parsed whole, so it costs time only."""
    if '"""' not in text and "'''" not in text:
        return []
    spans: list[int] = []
    opening: str | None = None
    for m in _TRIPLE.finditer(text):
        token = m.group()
        if token[0] == "\\":
            continue
        if opening is None:
            opening = token
            spans.append(m.start())
        elif token == opening:
            opening = None
            spans.append(m.end())
    if opening is not None:
        spans.append(len(text))
    return spans


def code_words(text: str, *, wrapped: bool = False) -> frozenset[str] | None:
    """The vocabulary words that ``text``'s code uses (see ``LazyItem.code_words``)."""
    try:
        tree = ast.parse("if 1:\n" + text if wrapped else text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    words: set[str] = set()
    inert: set[int] = set()  # string statements (docstrings): no code runs there
    for node in ast.walk(tree):
        kind = type(node)
        if kind is ast.Name:
            words.add(node.id)  # type: ignore[attr-defined]
        elif kind is ast.Attribute:
            words.add(node.attr)  # type: ignore[attr-defined]
        elif kind is ast.Expr and type(node.value) is ast.Constant:  # type: ignore[attr-defined]
            inert.add(id(node.value))  # type: ignore[attr-defined]
        elif kind is ast.Constant:
            if isinstance(node.value, str) and id(node) not in inert:  # type: ignore[attr-defined]
                words.update(w for w in VOCABULARY if w in node.value)  # type: ignore[attr-defined]
        elif kind is ast.keyword or kind is ast.arg:
            words.add(node.arg or "")  # type: ignore[attr-defined]
        elif kind is ast.alias:
            words.update(node.name.split("."))  # type: ignore[attr-defined]
            words.add(node.asname or "")  # type: ignore[attr-defined]
        elif kind is ast.ImportFrom:
            words.update((node.module or "").split("."))  # type: ignore[attr-defined]
            words.add("import")
        elif kind is ast.Import:
            words.add("import")
        elif kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            words.add(node.name)  # type: ignore[attr-defined]
        elif kind is ast.Global or kind is ast.Nonlocal:
            words.update(node.names)  # type: ignore[attr-defined]
            words.add("global" if kind is ast.Global else "nonlocal")
    if not words.isdisjoint(SOFTMAX_CALLABLES):
        words.add(SOFTMAX_NODIM)  # its arguments are not looked at here: it may be a call without dim
    return frozenset(words & (VOCABULARY | {SOFTMAX_NODIM}))


def _ast_dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for the expression spelling it (as ``syntax.dotted_name`` for LibCST)."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _header_colon(text: str, pos: int, end: int) -> int | None:
    """Offset of the ``:`` that ends a class header starting before ``pos``."""
    depth = 0
    i = pos
    while i < end:
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "#":
            nl = _NEWLINE.search(text, i, end)
            i = nl.start() if nl else end
            continue
        elif c in "\"'":
            quote = text[i : i + 3] if text[i : i + 3] in ('"""', "'''") else c
            close = text.find(quote, i + len(quote), end)
            if close < 0:
                return None
            i = close + len(quote)
            continue
        elif c == ":" and depth == 0:
            return i
        i += 1
    return None
