"""A small interpreter for the torch part of an expression: never ``eval``/``exec``.

Only constants, names, attribute chains that resolve to torch, whitelisted torch calls, tensor
methods and operators are evaluated. A call of anything else (the user's own functions, ``model(x)``)
raises ``NotProvable``: it is reported, never run. Free names become generated tensors.

In *intent* mode (bug-fix rules) the original expression is evaluated the way its author meant it,
following what the rule says was meant (cross_entropy of a softmax output means cross_entropy of the
logits, ...), in float64: that is the reference the rewrite must match.
"""

from __future__ import annotations

import ast
import builtins
import operator
from collections.abc import Callable

import torch
import torch.nn.functional as F

from logitlint.analysis.torchapi import SIGNATURES, canonical
from logitlint.prove.locate import Binding, NotProvable, Program, binding_of, self_attribute, torch_imports
from logitlint.prove.whitelist import ATTRIBUTES, BUILTINS, FUNCTIONS, METHODS

_BINARY: dict[type, Callable] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
    ast.MatMult: operator.matmul,
    ast.Mod: operator.mod,
}
_UNARY: dict[type, Callable] = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert}
_COMPARE: dict[type, Callable] = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
MAX_DEPTH = 40  # inlined assignments followed back
# What torch raises on inputs that do not fit (a trial the original itself cannot run).
TORCH_ERRORS = (RuntimeError, TypeError, ValueError, IndexError, ZeroDivisionError, NotImplementedError)

# The role a free name plays, from the slot it fills: the generator makes a tensor that fits.
_LOSS_SLOTS = {
    "torch.nn.functional.cross_entropy": ("logits", "class_target", "class_weight"),
    "torch.nn.functional.nll_loss": ("log_probs", "index_target", "class_weight"),
    "torch.nn.functional.kl_div": ("log_probs", "prob_target"),
    "torch.nn.functional.binary_cross_entropy": ("probs", "binary_target", "positive"),
    "torch.nn.functional.binary_cross_entropy_with_logits": ("logits", "binary_target", "positive"),
}
_CONSTRUCTOR_SLOTS = {
    "torch.nn.CrossEntropyLoss": ("class_weight",),
    "torch.nn.NLLLoss": ("class_weight",),
    "torch.nn.BCELoss": ("positive",),
    "torch.nn.BCEWithLogitsLoss": ("positive",),
}
_MODULE_LOSS = {
    "CrossEntropyLoss": "torch.nn.functional.cross_entropy",
    "NLLLoss": "torch.nn.functional.nll_loss",
    "KLDivLoss": "torch.nn.functional.kl_div",
    "BCELoss": "torch.nn.functional.binary_cross_entropy",
    "BCEWithLogitsLoss": "torch.nn.functional.binary_cross_entropy_with_logits",
}
_SOFTMAX = {"torch.nn.functional.softmax", "torch.softmax", "torch.special.softmax"}
_SIGMOID = {"torch.sigmoid", "torch.special.expit", "torch.nn.functional.sigmoid"}


class Interpreter:
    """Evaluates expressions of one program; ``names`` gives a free name's generated tensor."""

    def __init__(
        self,
        program: Program,
        names: Callable[[str, str], object],
        *,
        intent: str | None = None,
        opaque_errors: bool = False,
    ):
        self.program = program
        # when definitions cannot run on generated inputs at all (``x.view(batch, -1)`` with a
        # generated ``batch``), their names stand for generated tensors too
        self.opaque_errors = opaque_errors
        self.names = names
        self.intent = intent
        self.imports = torch_imports(program)
        self.origin: dict[int, tuple[str, object, object]] = {}  # id(output) -> (op, input, dim)
        self._keep: list[object] = []
        self._memo: dict[int, object] = {}
        self.depth = 0

    # --- entry --------------------------------------------------------------------------------
    def evaluate(self, node: ast.expr, *, no_grad: bool = False) -> object:
        if no_grad:
            with torch.no_grad():
                return self.eval(node)
        return self.eval(node)

    def eval(self, node: ast.expr, role: str = "value") -> object:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise NotProvable(f"uses {type(node).__name__} syntax, which the prover does not evaluate")
        return method(node, role)

    # --- leaves -------------------------------------------------------------------------------
    def _Constant(self, node: ast.Constant, role: str) -> object:
        return node.value

    def _Name(self, node: ast.Name, role: str) -> object:
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        binding = binding_of(self.program, node)
        if binding is not None:
            try:
                return self._bound(node, binding, role)
            except (NotProvable, *TORCH_ERRORS) as exc:
                if not isinstance(exc, NotProvable) and not self.opaque_errors:
                    raise
                # ``logits = model(x)``: the compared expressions do not call the model, they use its
                # output, which both sides share. The name stands for a generated tensor, provided
                # the fix leaves its definition as it is.
                self.names.opaque(node.id, ast.unparse(binding.value))
                return self.names(node.id, role)
        if node.id in self.imports:
            return _Torch(canonical(self.imports[node.id]))
        if node.id in BUILTINS and not self._locally_bound(node.id):
            return _Builtin(node.id)
        return self.names(node.id, role)

    def _free(self, node: ast.expr) -> bool:
        """A name nothing here defines (a parameter, a loop variable): what it holds is unknown."""
        return (
            isinstance(node, ast.Name)
            and node.id != "self"
            and node.id not in self.imports
            and binding_of(self.program, node) is None
        )

    def _locally_bound(self, name: str) -> bool:
        tree = self.program.tree
        return bool(
            self.program.cached(
                ("stored", name),
                lambda: any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store) for n in ast.walk(tree)),
            )
        )

    def _bound(self, node: ast.AST, binding: Binding, role: str) -> object:
        key = id(node)
        if key in self._memo:
            return self._memo[key]
        if self.depth > MAX_DEPTH:
            raise NotProvable("follows too many assignments")
        self.depth += 1
        try:
            if binding.no_grad and torch.is_grad_enabled():
                with torch.no_grad():
                    value = self.eval(binding.value, role)
            else:
                value = self.eval(binding.value, role)
        finally:
            self.depth -= 1
        self._memo[key] = value
        return value

    def _Attribute(self, node: ast.Attribute, role: str) -> object:
        binding = self_attribute(self.program, node)
        if binding is not None:
            return self._bound(node, binding, role)
        if isinstance(node.value, ast.Name) and node.value.id == "self":
            return self.names(f"self.{node.attr}", role)
        if node.attr not in ATTRIBUTES and node.attr not in METHODS and self._free(node.value):
            return self.names(ast.unparse(node), role)  # ``outputs.logits``: a field of something unknown
        base = self.eval(node.value, "value")
        if isinstance(base, _Torch):
            qualname = canonical(f"{base.qualname}.{node.attr}")
            obj = _resolve(qualname)
            if isinstance(obj, torch.dtype):
                return obj
            return _Torch(qualname)
        if isinstance(base, torch.Tensor) and node.attr in ATTRIBUTES:
            return getattr(base, node.attr)
        if isinstance(base, torch.Tensor) and node.attr in METHODS:
            return _Method(base, node.attr)
        if isinstance(base, torch.nn.Module) and node.attr in ("to", "cuda", "cpu"):
            return _SameModule(base)  # a device move: CPU here, the same module
        if isinstance(base, (torch.Size, torch.return_types.max, torch.return_types.min)) and node.attr in (
            "values",
            "indices",
        ):
            return getattr(base, node.attr)
        raise NotProvable(f"reads .{node.attr} of a {type(base).__name__}, which the prover does not model")

    # --- compound expressions ---------------------------------------------------------------------
    def _Tuple(self, node: ast.Tuple, role: str) -> object:
        return tuple(self.eval(e) for e in node.elts)

    def _List(self, node: ast.List, role: str) -> object:
        return [self.eval(e) for e in node.elts]

    def _BinOp(self, node: ast.BinOp, role: str) -> object:
        op = _BINARY.get(type(node.op))
        if op is None:
            raise NotProvable(f"uses the {type(node.op).__name__} operator")
        side = "factor" if isinstance(node.op, (ast.Mult, ast.Div)) else "value"
        return op(self.eval(node.left, side), self.eval(node.right, side))

    def _UnaryOp(self, node: ast.UnaryOp, role: str) -> object:
        op = _UNARY.get(type(node.op))
        if op is None:
            raise NotProvable(f"uses the {type(node.op).__name__} operator")
        return op(self.eval(node.operand, role))

    def _Compare(self, node: ast.Compare, role: str) -> object:
        if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE:
            raise NotProvable("uses a chained or non-arithmetic comparison")
        return _COMPARE[type(node.ops[0])](self.eval(node.left), self.eval(node.comparators[0]))

    def _Subscript(self, node: ast.Subscript, role: str) -> object:
        if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            return self.names(ast.unparse(node), role)  # ``outputs["logits"]``: an entry of a mapping
        return self.eval(node.value, role)[self.eval(node.slice)]

    def _Slice(self, node: ast.Slice, role: str) -> object:
        part = [None if p is None else self.eval(p) for p in (node.lower, node.upper, node.step)]
        return slice(*part)

    # --- calls ------------------------------------------------------------------------------------
    def _Call(self, node: ast.Call, role: str) -> object:
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise NotProvable("calls with *args or **kwargs")
        func = self.eval(node.func, "callee")
        slots = self._slots(func)
        args = [self.eval(a, slots[i] if i < len(slots) else "value") for i, a in enumerate(node.args)]
        kwargs = {k.arg: self.eval(k.value, _keyword_role(k.arg, slots)) for k in node.keywords}
        if isinstance(func, _Torch):
            if func.qualname not in FUNCTIONS:
                raise NotProvable(f"calls {func.qualname}, which is not on the prover's list of torch functions")
            return self._torch_call(func.qualname, args, kwargs)
        if isinstance(func, _Method):
            return self._method_call(func, args, kwargs)
        if isinstance(func, _SameModule):
            return func.module
        if isinstance(func, _Builtin):
            return getattr(builtins, func.name)(*args, **kwargs)
        if isinstance(func, torch.nn.Module) and type(func).__module__.startswith("torch.nn"):
            return self._module_call(func, args, kwargs)
        raise NotProvable(f"calls {ast.unparse(node.func)}, which is not a known torch function")

    def _slots(self, func: object) -> tuple[str, ...]:
        if isinstance(func, _Torch):
            return _LOSS_SLOTS.get(func.qualname) or _CONSTRUCTOR_SLOTS.get(func.qualname, ("value",))
        if isinstance(func, torch.nn.Module):
            functional = _MODULE_LOSS.get(type(func).__name__)
            return _LOSS_SLOTS.get(functional, ("value",)) if functional else ("value",)
        return ("value",)

    def _torch_call(self, qualname: str, args: list, kwargs: dict) -> object:
        if self.intent and qualname in _LOSS_SLOTS:
            return self._intended_loss(qualname, args, kwargs)
        result = _resolve(qualname)(*args, **kwargs)
        if qualname in _SOFTMAX or qualname in _SIGMOID:
            dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
            self._record(result, "softmax" if qualname in _SOFTMAX else "sigmoid", args[0] if args else None, dim)
        return result

    def _method_call(self, method: _Method, args: list, kwargs: dict) -> object:
        result = getattr(method.tensor, method.name)(*args, **kwargs)
        if method.name in ("softmax", "sigmoid"):
            dim = kwargs.get("dim", args[0] if args else None)
            self._record(result, method.name, method.tensor, dim)
        return result

    def _module_call(self, module: torch.nn.Module, args: list, kwargs: dict) -> object:
        functional = _MODULE_LOSS.get(type(module).__name__)
        if self.intent and functional is not None:
            return self._intended_loss(functional, args, {**_module_options(module), **kwargs})
        result = module(*args, **kwargs)
        if isinstance(module, (torch.nn.Softmax, torch.nn.Sigmoid)):
            op = "softmax" if isinstance(module, torch.nn.Softmax) else "sigmoid"
            self._record(result, op, args[0] if args else None, getattr(module, "dim", None))
        return result

    def _record(self, result: object, op: str, source: object, dim: object) -> None:
        if self.intent and isinstance(result, torch.Tensor):
            self.origin[id(result)] = (op, source, dim)
            self._keep.append(result)

    # --- what the author meant (bug-fix rules) ------------------------------------------------------
    def _intended_loss(self, qualname: str, args: list, kwargs: dict) -> object:
        bound = _bind(qualname, args, kwargs)
        source = self.origin.get(id(bound.get("input")))
        code = self.intent
        if code in ("LGT101", "LGT106") and source is not None:
            bound["input"] = source[1]  # the logits the activation was applied to
        elif code in ("LGT103", "LGT104") and source is not None and source[0] == "softmax":
            bound["input"] = F.log_softmax(source[1], dim=source[2])
        elif code == "LGT203" and source is not None and source[0] == "sigmoid":
            qualname = "torch.nn.functional.binary_cross_entropy_with_logits"
            bound["input"] = source[1]
        elif code == "LGT102" and qualname == "torch.nn.functional.cross_entropy":
            if bound.get("label_smoothing"):
                raise NotProvable("label_smoothing has no NLL form to compare with")
            bound.pop("label_smoothing", None)
            qualname = "torch.nn.functional.nll_loss"
            bound["input"] = torch.log(bound["input"])
        elif code == "LGT105" and qualname == "torch.nn.functional.kl_div":
            bound["log_target"] = True
        elif code == "LGT108" and qualname == "torch.nn.functional.kl_div":
            bound["reduction"] = "batchmean"
        return _resolve(qualname)(**bound)


def _bind(qualname: str, args: list, kwargs: dict) -> dict:
    names = [n for n in SIGNATURES[qualname] if n != "*"]
    bound = dict(zip(names, args))
    bound.update(kwargs)
    return {k: v for k, v in bound.items() if k not in ("size_average", "reduce") or v is not None}


def _module_options(module: torch.nn.Module) -> dict:
    options = {"reduction": module.reduction}
    for name in ("weight", "ignore_index", "label_smoothing", "pos_weight", "log_target"):
        if hasattr(module, name):
            options[name] = getattr(module, name)
    if options.get("weight") is None:
        options.pop("weight", None)
    if options.get("pos_weight") is None:
        options.pop("pos_weight", None)
    return options


def _keyword_role(name: str | None, slots: tuple[str, ...]) -> str:
    if name == "weight":  # per class for (cross-entropy, NLL), per element for BCE
        return "positive" if "positive" in slots else "class_weight"
    if name == "pos_weight":
        return "positive"
    if name == "input" and slots:
        return slots[0]
    if name == "target" and len(slots) > 1:
        return slots[1]
    return "value"


def _resolve(qualname: str) -> object:
    obj: object = torch
    for part in qualname.split(".")[1:]:
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise NotProvable(f"{qualname} does not exist in torch {torch.__version__}") from exc
    return obj


class _Torch:
    """A torch namespace or function, not yet called."""

    def __init__(self, qualname: str):
        self.qualname = qualname


class _Method:
    def __init__(self, tensor: torch.Tensor, name: str):
        self.tensor, self.name = tensor, name


class _Builtin:
    def __init__(self, name: str):
        self.name = name


class _SameModule:
    def __init__(self, module: torch.nn.Module):
        self.module = module
