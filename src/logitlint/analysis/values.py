"""Abstract values: what the analysis knows an expression evaluates to.

Facts come from definitions, never from names: a variable called ``probs`` is UNKNOWN until its
definition says otherwise. Where two definitions reach a use, their facts are merged and any
disagreement gives UNKNOWN (precision over recall).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING, Protocol, TypeGuard

if TYPE_CHECKING:
    import libcst as cst

    from logitlint.analysis.torchapi import LossSpec
    from logitlint.outline import ParsedUnit


class Kind(str, Enum):
    PROBS = "probabilities"
    LOG_PROBS = "log-probabilities"
    TENSOR = "tensor"  # a tensor of unknown meaning (kept for its rank)


class Fact(str, Enum):
    """A typed fact that still reads as its string: it compares, hashes and formats as its value,
    so tables keyed by the plain names keep working."""

    __hash__ = str.__hash__
    __str__ = str.__str__
    __format__ = str.__format__


class Source(Fact):
    """What made a tensor (the producer's op, or how the analysis recognised it)."""

    NONE = ""
    SOFTMAX = "softmax"
    LOG_SOFTMAX = "log_softmax"
    SOFTMIN = "softmin"
    SIGMOID = "sigmoid"
    LOGSIGMOID = "logsigmoid"
    NORMALISED = "normalised"  # x / x.sum(dim, keepdim=True)
    TABLE = "table"  # a literal probability table
    LOG = "log"  # torch.log of probabilities
    EXP = "exp"
    EXP_NONPOSITIVE = "exp_nonpositive"  # exp of a tensor known to be <= 0: cannot overflow
    NONPOSITIVE = "nonpositive"  # x - x.max(...), -abs(x), a Gaussian exponent
    WHOLE = "whole"  # whole numbers: torch.arange, floor, counts, and sums and differences of them


class Via(Fact):
    """How a tensor reached the expression where a rule looks at it."""

    DIRECT = "direct"  # the producer call itself
    VARIABLE = "variable"  # a local name bound to it
    STEPS = "steps"  # through kind-preserving methods (.float(), .view(...), indexing)
    CALL = "call"  # a function's or model's return, via a summary


class Spelling(Fact):
    """How a producer call is written, so that a fix can write its counterpart the same way."""

    FUNCTIONAL = "functional"  # F.softmax(x, 1)
    TORCH = "torch"  # torch.softmax(x, 1)
    SPECIAL = "special"  # torch.special.softmax(x, 1)
    METHOD = "method"  # x.softmax(1)
    LAYER = "layer"  # nn.Softmax(dim=1)(x)
    SEQUENTIAL = "sequential"  # the last element of an nn.Sequential
    BARE = "bare"  # from torch.nn.functional import softmax; softmax(x, 1)


class Value:
    """Base of all abstract values."""

    def portable(self) -> Value:
        """A copy without syntax-tree references, safe to pickle and use from another file."""
        return self


class _Unknown(Value):
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Value = _Unknown()


class _Nothing(Value):
    """The element of an empty list (``xs = []``): merged with anything, it gives that thing."""

    def __repr__(self) -> str:
        return "NOTHING"


NOTHING: Value = _Nothing()


class Lazy(Value):
    """A value computed only when something looks at it.

    A call into user code (a model, a helper) is not followed until its result matters (it reaches
    a loss, a log, a return that someone asked about): most results never do, and following every
    call would walk a whole model for each line that calls it."""

    __slots__ = ("_thunk", "_value")

    def __init__(self, thunk):
        self._thunk = thunk
        self._value: Value | None = None

    def force(self) -> Value:
        if self._value is None:
            thunk, self._thunk = self._thunk, None
            if thunk is None:
                return UNKNOWN  # asked for while being computed: a cycle
            self._value = force(thunk())
        return self._value

    def portable(self) -> Value:
        return self.force().portable()

    def __repr__(self) -> str:
        return f"Lazy({self._value!r})" if self._value is not None else "Lazy(...)"


def force(value: Value) -> Value:
    while isinstance(value, Lazy):
        value = value.force()
    return value


@dataclass(frozen=True)
class Origin:
    """Where a fact was established: a node in a parsed unit, or a resolved location."""

    description: str
    node: cst.CSTNode | None = field(default=None, compare=False, repr=False)
    unit: ParsedUnit | None = field(default=None, compare=False, repr=False)
    path: str | None = None
    line: int = 0
    col: int = 0

    def resolve(self, path: str) -> Origin:
        """A copy with a file position (the unit's own file, else ``path``)."""
        if self.node is None or self.unit is None:
            return self
        span = self.unit.span(self.node)
        return Origin(self.description, path=self.path or self.unit.path or path, line=span.line, col=span.col)


@dataclass(frozen=True)
class Ref(Value):
    """An imported (or otherwise named) module, function or class, by qualified name."""

    qualname: str


@dataclass(frozen=True)
class Producer:
    """The call that made probabilities, kept so that a fix can undo or change it."""

    call: cst.Call
    unit: ParsedUnit
    op: str  # softmax | log_softmax | softmin | sigmoid | logsigmoid
    spelling: Spelling
    operand: cst.BaseExpression | None  # the logits
    dim: cst.BaseExpression | None
    dtype: cst.BaseExpression | None
    extra_args: bool  # arguments we do not understand (``_stacklevel``, ``out=``)
    func: cst.BaseExpression  # the callee expression, for renaming
    # Bindings of the names the call reads, when it ran; a fix that re-evaluates it elsewhere (at
    # the use of a variable) is only offered while they still hold and the call is side-effect free.
    stamps: tuple[tuple[str, int], ...] = ()
    reusable: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "spelling", Spelling(self.spelling))


@dataclass(frozen=True)
class Tensor(Value):
    kind: Kind
    source: Source = Source.NONE
    dim: int | None = None  # the axis normalised over, when known and still meaningful
    ndim: int | None = None
    ndim_evidence: str = ""  # how the rank was inferred, for messages
    origin: Origin | None = field(default=None, compare=False)
    producer: Producer | None = field(default=None, compare=False, repr=False)
    via: Via = field(default=Via.DIRECT, compare=False)
    model: str | None = field(default=None, compare=False)  # set when via == "call" from a model
    # Which distribution these (log-)probabilities are: the producer's scope, operand text, operand
    # bindings and dim. Kept through log/exp and kind-preserving steps, so that ``p * log(p)`` and
    # ``logp.exp() * logp`` (an entropy) are told apart from a cross-entropy with other targets.
    dist: tuple | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        # The evaluator may spell facts as plain strings; they are stored typed.
        object.__setattr__(self, "source", Source(self.source))
        object.__setattr__(self, "via", Via(self.via))

    def portable(self) -> Value:
        return replace(self, producer=None)

    def through(self, via: Via, *, keep_dim: bool = True, keep_producer: bool = True) -> Tensor:
        return replace(
            self,
            via=via if self.via in (Via.DIRECT, Via.VARIABLE) or via is Via.CALL else self.via,
            dim=self.dim if keep_dim else None,
            producer=self.producer if keep_producer else None,
        )


def is_distribution(value: Value) -> TypeGuard[Tensor]:
    """Probabilities or log-probabilities (the kinds a loss may be fed wrongly)."""
    return isinstance(value, Tensor) and value.kind in (Kind.PROBS, Kind.LOG_PROBS)


@dataclass(frozen=True)
class LossObject(Value):
    """An instance of a torch loss module (``nn.CrossEntropyLoss(...)``)."""

    spec: LossSpec
    call: cst.Call | None = field(default=None, compare=False, repr=False)
    unit: ParsedUnit | None = field(default=None, compare=False, repr=False)
    args: tuple[tuple[str, str], ...] = ()  # constructor arguments as (name, source text)

    def portable(self) -> Value:
        return replace(self, call=None, unit=None)


@dataclass(frozen=True)
class Layer(Value):
    """An instance of nn.Softmax / LogSoftmax / Softmin / Sigmoid / LogSigmoid."""

    op: str
    dim: int | None = None
    dim_given: bool = True
    origin: Origin | None = field(default=None, compare=False)
    call: cst.Call | None = field(default=None, compare=False, repr=False)
    unit: ParsedUnit | None = field(default=None, compare=False, repr=False)

    def portable(self) -> Value:
        return replace(self, call=None, unit=None, origin=self.origin and replace(self.origin, node=None, unit=None))


@dataclass(frozen=True)
class Sequential(Value):
    """An nn.Sequential; calling it returns what its last element returns."""

    elements: tuple[Value, ...] | None = None  # None: built in a way we cannot read
    origin: Origin | None = field(default=None, compare=False)

    @property
    def last(self) -> Value:
        return self.elements[-1] if self.elements else UNKNOWN

    def portable(self) -> Value:
        elements = None if self.elements is None else tuple(v.portable() for v in self.elements)
        return replace(self, elements=elements, origin=self.origin and replace(self.origin, node=None, unit=None))


@dataclass(frozen=True)
class Instance(Value):
    """An instance of a class the analysis can see (a model, usually); ``overrides`` are attributes
    set on this instance from outside (``model.fc = nn.Sequential(...)``)."""

    cls: ClassFacts
    overrides: tuple[tuple[str, Value], ...] = ()

    def with_override(self, attr: str, value: Value) -> Instance:
        return replace(self, overrides=tuple((k, v) for k, v in self.overrides if k != attr) + ((attr, value),))


@dataclass(frozen=True)
class ExternalModel(Value):
    """A model from a library (torchvision) whose forward ends with a known attribute (``fc``);
    replacing that attribute changes what the model returns."""

    qualname: str
    head: str
    overrides: tuple[tuple[str, Value], ...] = ()

    def with_override(self, attr: str, value: Value) -> ExternalModel:
        return replace(self, overrides=tuple((k, v) for k, v in self.overrides if k != attr) + ((attr, value),))


@dataclass(frozen=True)
class Alternatives(Value):
    """One of several models (``A() if cond else B()``): calling it returns what every option
    returns when they agree (``merge``), else UNKNOWN."""

    options: tuple[Value, ...]

    def portable(self) -> Value:
        return Alternatives(tuple(v.portable() for v in self.options))


_MODELS = (Instance, Sequential, ExternalModel, Alternatives)


@dataclass(frozen=True)
class ClassValue(Value):
    cls: ClassFacts


@dataclass(frozen=True)
class FunctionValue(Value):
    fn: FunctionFacts
    bound: bool = False  # a method read through an instance or self


@dataclass(frozen=True)
class SelfValue(Value):
    cls: ClassFacts | None  # None: a method whose class is not known


@dataclass(frozen=True)
class Param(Value):
    """A function's parameter, followed to find helpers that pass a parameter into a loss."""

    index: int
    name: str


@dataclass(frozen=True)
class StarParam(Value):
    """A function's ``*args`` parameter: the call's positional arguments from ``index`` on."""

    index: int
    name: str


def is_whole(value: Value) -> TypeGuard[Tensor]:
    """A tensor of whole numbers (where ``log(1 + x)`` cancels nothing)."""
    return isinstance(value, Tensor) and value.source is Source.WHOLE


@dataclass(frozen=True)
class TupleValue(Value):
    items: tuple[Value, ...]

    def portable(self) -> Value:
        return TupleValue(tuple(v.portable() for v in self.items))


@dataclass(frozen=True)
class Repeated(Value):
    """A list or generator every element of which holds ``element``: ``[F.softmax(l, 1) for l in xs]``."""

    element: Value

    def portable(self) -> Value:
        return Repeated(self.element.portable())


class FunctionFacts(Protocol):
    """What the evaluator asks of a function it can see (``analysis.module.FunctionInfo``)."""

    qualname: str
    self_name: str | None

    def summary(self, overrides: tuple[tuple[str, Value], ...] = ()) -> Summary: ...


class ClassFacts(Protocol):
    """What the evaluator asks of a class it can see (``analysis.module.ClassInfo``)."""

    name: str

    def attr_value(self, attr: str) -> Value: ...

    def call_value(self, overrides: tuple[tuple[str, Value], ...] = ()) -> tuple[Value, FunctionFacts | None]: ...

    def is_torch_module(self, _seen: frozenset = frozenset()) -> bool: ...


def merge(a: Value, b: Value) -> Value:
    """The fact that holds whichever of two definitions reached here."""
    if a is b or b is NOTHING:
        return a
    if a is NOTHING:
        return b
    if isinstance(a, Lazy) or isinstance(b, Lazy):
        return Lazy(lambda: merge(force(a), force(b)))
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if (a.kind, a.source) != (b.kind, b.source):
            return UNKNOWN
        return replace(
            a,
            dim=a.dim if a.dim == b.dim else None,
            ndim=a.ndim if a.ndim == b.ndim else None,
            producer=a.producer if a.producer is b.producer else None,
            via=a.via if a.via == b.via else Via.VARIABLE,
            dist=a.dist if a.dist == b.dist else None,
        )
    if isinstance(a, Repeated) and isinstance(b, Repeated):  # xs = [] before a loop that appends
        element = merge(a.element, b.element)
        return Repeated(element) if element is not UNKNOWN else UNKNOWN
    if isinstance(a, TupleValue) and isinstance(b, TupleValue) and len(a.items) == len(b.items):
        return TupleValue(tuple(merge(x, y) for x, y in zip(a.items, b.items)))
    if type(a) is type(b) and a == b:
        return a
    if isinstance(a, LossObject) and isinstance(b, LossObject) and a.spec == b.spec:
        # the same loss built two ways (``CrossEntropyLoss(weight=w) if cond else CrossEntropyLoss()``):
        # the arguments both share, and a marker that blocks fixes copying the others
        shared = tuple(arg for arg in a.args if arg in b.args)
        return LossObject(a.spec, None, None, shared if shared == a.args == b.args else (*shared, ("*", "*")))
    if isinstance(a, _MODELS) and isinstance(b, _MODELS):  # net = A() if cond else B()
        options = [*(a.options if isinstance(a, Alternatives) else (a,))]
        for option in b.options if isinstance(b, Alternatives) else (b,):
            if option not in options:
                options.append(option)
        return Alternatives(tuple(options))
    return UNKNOWN


def merge_all(values: list[Value]) -> Value:
    if not values:
        return UNKNOWN
    result = values[0]
    for value in values[1:]:
        result = merge(result, value)
    return result


@dataclass(frozen=True)
class Sink:
    """A parameter of a function that reaches a loss's input (``def f(out, y): return ce(out, y)``)."""

    loss: str  # LossSpec.key
    origin: Origin  # the loss call
    arg_names: frozenset[str] = frozenset()  # keyword arguments the loss call was given
    module_form: bool = False

    def portable(self, path: str) -> Sink:
        return Sink(self.loss, self.origin.resolve(path), self.arg_names, self.module_form)


@dataclass
class Summary:
    returns: Value = UNKNOWN
    sinks: dict[int, tuple[Sink, ...]] = field(default_factory=dict)
    param_names: tuple[str, ...] = ()

    def sink_for(self, index: int) -> tuple[Sink, ...]:
        return self.sinks.get(index, ())

    def trivial(self) -> bool:
        return self.returns is UNKNOWN and not self.sinks
