"""What a rule is: one small class with its code, name, docs, examples and check."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, NamedTuple

from logitlint.analysis.values import Tensor
from logitlint.diagnostics import FixClass, Severity

if TYPE_CHECKING:
    import libcst as cst

    from logitlint.analysis.losses import LossCall
    from logitlint.rules.context import RuleContext


class Invalid(NamedTuple):
    """An example the rule must report: the source text of the reported expression, and the whole
    example as ``logitlint fix --unsafe-fixes --select CODE`` leaves it (``None``: no fix applies
    here, the text stays as it is). The suite checks both."""

    source: str
    at: str
    fixed: str | None = None


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    fix_class: ClassVar[FixClass | None] = None
    summary: ClassVar[str]  # one line, for `logitlint rules` and SARIF
    # Words (see logitlint.outline.VOCABULARY) of which a unit must contain at least one for this
    # rule to fire in it: the prefilter skips units with none of them.
    requires: ClassVar[frozenset[str]]
    # Documentation, as ruff documents rules (Markdown).
    what: ClassVar[str]
    why: ClassVar[str]
    example: ClassVar[str]
    use_instead: ClassVar[str]
    fix_safety: ClassVar[str]
    # Examples the test suite runs: every INVALID one must be reported with this code at ``at``,
    # no VALID one may be.
    valid: ClassVar[tuple[str, ...]] = ()
    invalid: ClassVar[tuple[Invalid, ...]] = ()
    # The functions this rule's rewrite calls (``softplus``): inside a definition of one of them
    # (torch's own ``def softplus``) the advice would be circular, so the rule stays quiet there.
    implements: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def numerical(cls) -> bool:
        """A rule about numerical stability or precision only (not a wrong loss): quiet inside
        reference implementations in test code, which write the textbook form on purpose."""
        return cls.fix_class in (FixClass.FINITE, FixClass.PRECISION, FixClass.VALUE_CHANGE)

    def on_call(self, node: cst.Call, ctx: RuleContext) -> None:
        """Called for every call expression in a checked unit."""

    def on_binary(self, node: cst.BinaryOperation, ctx: RuleContext) -> None:
        """Called for every binary operation in a checked unit."""

    def on_unary(self, node: cst.UnaryOperation, ctx: RuleContext) -> None:
        """Called for every unary operation in a checked unit."""

    @classmethod
    def docs_url(cls) -> str:
        return f"https://github.com/logitlint/logitlint/blob/main/docs/rules.md#{cls.code.lower()}-{cls.name}"


class LossRule(Rule):
    """A rule about a loss call: the engine finds loss calls in every spelling (functional, loss
    objects on variables and ``self``, helpers whose parameter reaches a loss) and calls ``check``."""

    losses: ClassVar[frozenset[str]]  # LossSpec keys

    def check(self, loss: LossCall, ctx: RuleContext) -> None:
        raise NotImplementedError


class LossInputRule(LossRule):
    """A rule about what kind of tensor reaches a loss's input."""

    def check(self, loss: LossCall, ctx: RuleContext) -> None:
        if loss.input is None:
            return
        value = ctx.value(loss.input)
        if isinstance(value, Tensor) and self.applies(value, loss, ctx):
            self.report(value, loss, ctx)

    def applies(self, value: Tensor, loss: LossCall, ctx: RuleContext) -> bool:
        raise NotImplementedError

    def report(self, value: Tensor, loss: LossCall, ctx: RuleContext) -> None:
        raise NotImplementedError
