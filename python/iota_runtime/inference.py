"""Prefilters inferred from a rule module's Python source (docs/WORKER_PROTOCOL.md, "Prefilters").

Third-party rules rarely declare filters, yet most of them open with guards on `eventSource` /
`eventName`. `infer(source)` reads those guards with `ast` (the module is never executed for
this) and returns a condition that is *necessary* for `rule(event)` to return a truthy value,
or None when it can prove none. Returning a weaker condition is always allowed, a stronger one
never, so everything not understood counts as "no information".

What is read, in `def rule(<param>)` at the top level of the module:

- a run of leading statements, after an optional docstring: guards `if G: return <falsy
  constant>` (or a bare `return`), each contributing "G was false", and assignments of a pure
  expression to a local name (`name = event.get("eventName")`), which later guards may use;
- then, if the next statement is `return E`: the conjuncts of a top-level `and` in E, left to
  right up to the first impure one (or E itself when it is pure), each contributing "it was
  truthy".

The run stops at the first statement of any other kind, so nothing after a possible side
effect is used: skipping an event must not skip anything the rule would have done.

An expression is *pure* when evaluating it cannot run rule code or change state: it is built
from the rule's parameter (`.get`, `[...]`, `.deep_get`), constants, module-level names bound
once to a literal and never rebound or mutated anywhere in the module, locals assigned by an
earlier pure assignment of the run, comparisons, `and` / `or` / `not` and a few str methods.
Event values are JSON scalars or the runtime's read-only wrappers, whose operations are all
free of side effects. An expression may still raise (a missing key with `event["k"]`, `None`
has no `.startswith`), which means that the rule does not match: the condition preserves
matches, not errors, so an event it rejects might have made `rule()` raise.

Each pure condition is turned into a pair (necessary when true, necessary when false); `not`
swaps the pair, `and` / `or` combine them, and an atom the condition language cannot state
exactly contributes nothing. Atoms: `v == "s"`, `v in (<strings>)`, `v.startswith("s")`
(exact), and `v`, `v is not None` (necessary: `exists`; only ever emitted un-negated, so it is
sound whether or not the evaluator counts a null value as existing). Only string constants
are compared: `True == 1` in Python, so a number in a condition could reject a value the
rule accepts.

The proof covers the rule's own module: a different module reaching into it at run time
(`some_rule.NAMES.add(...)`) is not considered.
"""

import ast

# How a guard may leave the rule: `return` followed by one of these (or nothing).
_FALSY_CONSTANTS = (False, None, 0, "")

# Methods that may be called on a pure value: for the types such a value can have (JSON
# scalars, the event wrappers, literal constants) none runs rule code or changes anything.
_PURE_METHODS = frozenset(
    (
        "get",
        "deep_get",
        "startswith",
        "endswith",
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "casefold",
    )
)

# Methods of a mutable constant that do not change it; any other use of such a constant
# (passing it to a call, aliasing it, calling .add ...) might, and disqualifies it.
_READING_METHODS = frozenset(
    (
        "copy",
        "count",
        "index",
        "get",
        "keys",
        "values",
        "items",
        "union",
        "intersection",
        "difference",
        "symmetric_difference",
        "issubset",
        "issuperset",
        "isdisjoint",
    )
)

# Names and attributes that let a module rebind or mutate its globals without naming them
# (`globals()["X"] = ...`, `sys.modules[__name__].X = ...`).
_DYNAMIC_NAMES = frozenset(
    ("globals", "vars", "locals", "exec", "eval", "setattr", "delattr", "__import__")
)
_DYNAMIC_ATTRIBUTES = frozenset(("__dict__", "modules"))

_CONTAINER_BUILDERS = {"frozenset": frozenset, "set": set, "tuple": tuple, "list": list}

# The default of an access that raises when its key is missing (`event["k"]`).
_RAISES = object()


class _Impure(Exception):
    """The expression might run rule code or depend on something unknown."""


class _Access:
    """An event value at a key path; `default` is what the expression yields when the last
    key is missing (a literal value, or _RAISES)."""

    __slots__ = ("path", "default")

    def __init__(self, path, default):
        self.path = path
        self.default = default


class _Const:
    """A literal value known at analysis time."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class _Opaque:
    """A pure value about which nothing is known."""


_OPAQUE = _Opaque()


def _key(path):
    return list(path)


def _not(cond):
    if cond is None:
        return None
    if "not" in cond:
        return cond["not"]
    return {"not": cond}


def _dedupe(conds):
    seen = []
    for cond in conds:
        if cond not in seen:
            seen.append(cond)
    return seen


def _all(conds):
    """Conjunction; None (unknown) members are dropped, since dropping one only weakens it."""
    flat = []
    for cond in conds:
        if cond is None:
            continue
        flat.extend(cond["all"] if "all" in cond else [cond])
    flat = _dedupe(flat)
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else {"all": flat}


def _any(conds):
    """Disjunction; an unknown member makes the whole unknown. Equalities and memberships on
    the same key are merged into one `in`."""
    if any(cond is None for cond in conds):
        return None
    flat = []
    for cond in conds:
        flat.extend(cond["any"] if "any" in cond else [cond])
    merged, values_by_key = [], {}
    for cond in flat:
        if "equals" in cond or "in" in cond:
            key = tuple(cond["key"])
            if key not in values_by_key:
                values_by_key[key] = []
                merged.append(key)
            values_by_key[key].extend([cond["equals"]] if "equals" in cond else cond["in"])
        else:
            merged.append(cond)
    out = []
    for item in merged:
        if isinstance(item, tuple):
            values = sorted(set(values_by_key[item]))
            if len(values) == 1:
                out.append({"key": list(item), "equals": values[0]})
            else:
                out.append({"key": list(item), "in": values})
        else:
            out.append(item)
    out = _dedupe(out)
    return out[0] if len(out) == 1 else {"any": out}


def _default_gives(default, test):
    """Whether `test(default)` could be true, i.e. a missing key might satisfy the atom."""
    if default is _RAISES:
        return False
    try:
        return bool(test(default))
    except Exception:  # the rule would raise there: not a match
        return False


def _literal(node):
    """The value of a literal expression (strings, numbers, None, containers of literals,
    frozenset/set/tuple/list of one), or raise ValueError."""
    if isinstance(node, ast.Call):
        builder = _CONTAINER_BUILDERS.get(getattr(node.func, "id", None))
        if builder is None or node.keywords or len(node.args) > 1:
            raise ValueError("not a literal")
        return builder(ast.literal_eval(node.args[0])) if node.args else builder()
    return ast.literal_eval(node)


class _Module:
    """What the whole module tells about names: how often each is bound and which top-level
    names are trustworthy constants."""

    def __init__(self, tree):
        self.bindings = {}
        self.dynamic = False
        self.constants = {}
        loads = []
        safe_uses = set()
        attribute_uses = {}
        for node in ast.walk(tree):
            kind = type(node)
            if kind is ast.Name:
                if node.id in _DYNAMIC_NAMES:
                    self.dynamic = True
                if type(node.ctx) is ast.Load:
                    loads.append(node)
                    continue
            elif kind is ast.Attribute:
                if node.attr in _DYNAMIC_ATTRIBUTES:
                    self.dynamic = True
                if type(node.value) is ast.Name:
                    attribute_uses[id(node.value)] = node.attr
                continue
            elif kind is ast.Compare:
                safe_uses.update(id(n) for n in [node.left, *node.comparators])
                continue
            elif kind in (ast.For, ast.AsyncFor, ast.comprehension):
                safe_uses.add(id(node.iter))
            elif kind is ast.ImportFrom and any(a.name == "*" for a in node.names):
                self.dynamic = True
            for name in _bound_names(node):
                self.bindings[name] = self.bindings.get(name, 0) + 1
        for name in _CONTAINER_BUILDERS:
            if self.bindings.get(name):
                return  # frozenset(...) might not be the builtin: no constants at all
        candidates = {}
        for statement in tree.body:
            target, value = _simple_assignment(statement)
            if target is not None and self.bindings.get(target) == 1:
                try:
                    candidates[target] = _literal(value)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    continue
        # A mutable constant is trusted only when every use of it just reads it.
        for node in loads:
            if not isinstance(candidates.get(node.id), (list, set, dict)):
                continue
            if id(node) in safe_uses or attribute_uses.get(id(node)) in _READING_METHODS:
                continue
            del candidates[node.id]
        self.constants = candidates


def _simple_assignment(statement):
    """(name, value node) of `name = value` / `name: T = value`, else (None, None)."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
        if isinstance(target, ast.Name):
            return target.id, statement.value
    if isinstance(statement, ast.AnnAssign) and statement.value is not None:
        if isinstance(statement.target, ast.Name) and statement.simple:
            return statement.target.id, statement.value
    return None, None


# Node type -> the names a node of that type binds (or declares global/nonlocal, which may
# rebind them).
_BINDERS = {
    ast.Name: lambda node: () if type(node.ctx) is ast.Load else (node.id,),
    ast.FunctionDef: lambda node: (node.name,),
    ast.AsyncFunctionDef: lambda node: (node.name,),
    ast.ClassDef: lambda node: (node.name,),
    ast.arg: lambda node: (node.arg,),
    ast.alias: lambda node: ((node.asname or node.name).split(".")[0],),
    ast.Global: lambda node: tuple(node.names),
    ast.Nonlocal: lambda node: tuple(node.names),
    ast.ExceptHandler: lambda node: (node.name,) if node.name else (),
    ast.MatchAs: lambda node: (node.name,) if node.name else (),
    ast.MatchStar: lambda node: (node.name,) if node.name else (),
    ast.MatchMapping: lambda node: (node.rest,) if node.rest else (),
}


def _bound_names(node):
    """The names `node` binds."""
    binder = _BINDERS.get(type(node))
    return binder(node) if binder is not None else ()


class _Scope:
    """Evaluates the expressions of one rule function's leading statements."""

    def __init__(self, param, module, function_locals):
        self.module = module
        self.function_locals = function_locals
        self.locals = {param: _Access((), _RAISES)}

    # -- values -------------------------------------------------------------------------

    def value(self, node):
        """An _Access, _Const or _OPAQUE for a pure expression; _Impure otherwise."""
        if isinstance(node, ast.Constant):
            return _Const(node.value)
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            items = [self.value(element) for element in node.elts]
            return self._container(node, items)
        if isinstance(node, ast.Dict):
            items = [self.value(part) for part in (*node.keys, *node.values) if part is not None]
            return self._container(node, items)
        if self._is_bool_call(node):
            self.cond(node.args[0])
            return _OPAQUE
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Subscript):
            base = self.value(node.value)
            index = self.value(node.slice)
            if isinstance(base, _Access) and _is_key(index):
                return self._extend(base, index.value, _RAISES)
            return _OPAQUE
        if isinstance(node, (ast.BoolOp, ast.Compare)) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
        ):
            self.cond(node)
            return _OPAQUE
        raise _Impure

    def _name(self, name):
        if name in self.locals:
            return self.locals[name]
        if name in self.function_locals:
            raise _Impure  # not assigned yet by the run, or by something the run does not model
        if name in self.module.constants:
            return _Const(self.module.constants[name])
        raise _Impure

    @staticmethod
    def _container(node, items):
        if all(isinstance(item, _Const) for item in items):
            try:
                return _Const(_literal(node))
            except (ValueError, TypeError, SyntaxError):
                return _OPAQUE
        return _OPAQUE

    def _call(self, node):
        func = node.func
        if not isinstance(func, ast.Attribute) or func.attr not in _PURE_METHODS:
            raise _Impure
        if any(isinstance(arg, ast.Starred) for arg in node.args) or any(
            keyword.arg is None for keyword in node.keywords
        ):
            raise _Impure
        base = self.value(func.value)
        args = [self.value(arg) for arg in node.args]
        keywords = {keyword.arg: self.value(keyword.value) for keyword in node.keywords}
        if not isinstance(base, _Access):
            return _OPAQUE
        if func.attr == "get" and not keywords and 1 <= len(args) <= 2:
            key = args[0]
            default = args[1] if len(args) == 2 else _Const(None)
            if _is_key(key) and isinstance(default, _Const):
                return self._extend(base, key.value, default.value)
        if func.attr == "deep_get" and base.path == () and args and set(keywords) <= {"default"}:
            default = keywords.get("default", _Const(None))
            if all(_is_key(arg) for arg in args) and isinstance(default, _Const):
                return _Access(tuple(arg.value for arg in args), default.value)
        return _OPAQUE

    @staticmethod
    def _extend(base, key, default):
        """`base.get(key, default)` / `base[key]` as one access, when a missing `base` makes
        it behave as a missing key (it raises, or `base` defaults to an empty dict)."""
        if base.path and not (
            base.default is _RAISES or base.default is None or base.default == {}
        ):
            return _OPAQUE
        return _Access(base.path + (key,), default)

    # -- conditions ---------------------------------------------------------------------

    def cond(self, node):
        """(necessary when truthy, necessary when falsy) for a pure expression; either may be
        None (nothing known). _Impure when the expression is not pure."""
        if isinstance(node, ast.BoolOp):
            pairs = [self.cond(value) for value in node.values]
            truthy = [pair[0] for pair in pairs]
            falsy = [pair[1] for pair in pairs]
            if isinstance(node.op, ast.And):
                return _all(truthy), _any(falsy)
            return _any(truthy), _all(falsy)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            truthy, falsy = self.cond(node.operand)
            return falsy, truthy
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "startswith"
        ):
            return self._startswith(node)
        if self._is_bool_call(node):
            return self.cond(node.args[0])
        return self._truthiness(self.value(node))

    def _is_bool_call(self, node):
        """`bool(x)`, with `bool` the builtin (the module never binds the name)."""
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "bool"
            and "bool" not in self.module.bindings
            and "bool" not in self.function_locals
            and len(node.args) == 1
            and not isinstance(node.args[0], ast.Starred)
            and not node.keywords
        )

    def _compare(self, node):
        operands = [self.value(operand) for operand in [node.left, *node.comparators]]
        if len(node.ops) != 1:
            return None, None
        op = node.ops[0]
        left, right = operands
        if isinstance(op, (ast.Eq, ast.NotEq)):
            if isinstance(right, _Access):
                left, right = right, left
            exact = self._equals(left, right)
            return exact if isinstance(op, ast.Eq) else exact[::-1]
        if isinstance(op, (ast.In, ast.NotIn)):
            exact = self._member(left, right)
            return exact if isinstance(op, ast.In) else exact[::-1]
        if isinstance(op, (ast.Is, ast.IsNot)):
            if isinstance(right, _Access):
                left, right = right, left
            if _is_event_value(left) and isinstance(right, _Const) and right.value is None:
                if left.default is None or left.default is _RAISES:
                    exists = {"key": _key(left.path), "exists": True}
                    return (exists, None) if isinstance(op, ast.IsNot) else (None, exists)
        return None, None

    @staticmethod
    def _equals(access, const):
        if not (_is_event_value(access) and _is_string(const)):
            return None, None
        if _default_gives(access.default, lambda d: d == const.value):
            return None, None
        cond = {"key": _key(access.path), "equals": const.value}
        return cond, _not(cond)

    @staticmethod
    def _member(access, const):
        if not (_is_event_value(access) and isinstance(const, _Const)):
            return None, None
        members = const.value
        if not isinstance(members, (tuple, list, set, frozenset, dict)):
            return None, None  # `in "text"` is a substring test
        if not all(isinstance(member, str) for member in members):
            return None, None
        if _default_gives(access.default, lambda d: d in members):
            return None, None
        values = sorted(set(members))
        if len(values) == 1:
            cond = {"key": _key(access.path), "equals": values[0]}
        else:
            cond = {"key": _key(access.path), "in": values}
        return cond, _not(cond)

    def _startswith(self, node):
        base = self.value(node.func.value)
        args = [self.value(arg) for arg in node.args]
        for keyword in node.keywords:
            self.value(keyword.value)
        if not _is_event_value(base) or len(args) != 1 or node.keywords:
            return None, None
        (prefix,) = args
        if not isinstance(prefix, _Const):
            return None, None
        prefixes = prefix.value if isinstance(prefix.value, tuple) else (prefix.value,)
        if not prefixes or not all(isinstance(p, str) for p in prefixes):
            return None, None
        if _default_gives(base.default, lambda d: d.startswith(prefixes)):
            return None, None
        key = _key(base.path)
        cond = _any([{"key": key, "startswith": p} for p in prefixes])
        return cond, _not(cond)

    @staticmethod
    def _truthiness(value):
        if _is_event_value(value) and not _default_gives(value.default, bool):
            return {"key": _key(value.path), "exists": True}, None
        return None, None


def _is_event_value(value):
    return isinstance(value, _Access) and bool(value.path)


def _is_string(value):
    return isinstance(value, _Const) and isinstance(value.value, str)


def _is_key(value):
    """A constant usable as a key step: Python matches keys case-insensitively with
    str.lower(), an evaluator may with ASCII rules only; for ASCII keys the two agree."""
    return _is_string(value) and value.value.isascii()


def _is_guard(statement):
    """`if <test>: return` with a falsy constant (or nothing) and no `else`."""
    if not isinstance(statement, ast.If) or statement.orelse or len(statement.body) != 1:
        return False
    body = statement.body[0]
    if not isinstance(body, ast.Return):
        return False
    returned = body.value
    return returned is None or (
        isinstance(returned, ast.Constant)
        and any(type(returned.value) is type(f) and returned.value == f for f in _FALSY_CONSTANTS)
    )


def _rule_function(tree, module):
    """The top-level `def rule(<param>)` and its parameter name, or (None, None)."""
    if module.bindings.get("rule") != 1:
        return None, None
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef) and statement.name == "rule":
            args = statement.args
            positional = [*args.posonlyargs, *args.args]
            plain = not (statement.decorator_list or args.vararg or args.kwonlyargs or args.kwarg)
            if not plain or len(positional) != 1:
                return None, None
            return statement, positional[0].arg
    return None, None


def _analyse(function, param, module):
    """The condition read from the leading statements of `function` (see the module
    docstring), or None."""
    function_locals = set()
    for node in ast.walk(function):
        if node is not function:
            function_locals.update(_bound_names(node))
    scope = _Scope(param, module, function_locals)
    found = []
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    for statement in body:
        if isinstance(statement, ast.Pass):
            continue
        target, value = _simple_assignment(statement)
        if target is not None:
            try:
                scope.locals[target] = scope.value(value)
            except _Impure:
                break
            continue
        if _is_guard(statement):
            try:
                _, falsy = scope.cond(statement.test)
            except _Impure:
                break
            found.append(falsy)
            continue
        if isinstance(statement, ast.Return) and statement.value is not None:
            returned = statement.value
            conjuncts = (
                returned.values
                if isinstance(returned, ast.BoolOp) and isinstance(returned.op, ast.And)
                else [returned]
            )
            for conjunct in conjuncts:
                try:
                    truthy, _ = scope.cond(conjunct)
                except _Impure:
                    break  # what follows runs only after a possible side effect
                found.append(truthy)
        break
    return _all(found)


def infer(source):
    """A condition necessary for the module's `rule()` to match (JSON-ready dict), or None.
    `source` is the module's text (str or bytes)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    module = _Module(tree)
    if module.dynamic:
        return None
    function, param = _rule_function(tree, module)
    if function is None:
        return None
    try:
        return _analyse(function, param, module)
    except RecursionError:  # a pathologically nested expression
        return None


def infer_file(path):
    """infer() of the Python file at `path`; None when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            source = handle.read()
    except OSError:
        return None
    return infer(source)
