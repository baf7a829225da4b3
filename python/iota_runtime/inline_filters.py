"""Panther `InlineFilters`: the declarative conditions a rule's YAML may put in front of its
`rule()` (docs/WORKER_PROTOCOL.md, "Prefilters"). An event that fails them is not a match
and never reaches `rule()`, in a batch and in `iota rules test` alike.

`compile_filters(spec)` turns the structure iota sends (the YAML as written) into a predicate
over the raw event dict, once per rule at `init`; anything it does not understand raises
`ValueError("InlineFilters: ...")`, which the worker reports as that rule's import error.

The structure: `{"All": [...], "Any": [...]}` (both optional; a bare list means `All`), each
item either a nested `{"All"/"Any": [...]}` or a leaf `{"KeyPath", "Condition", "Value" or
"Values"}`. An empty list constrains nothing.

Leaf semantics, which iota's Rust prefilters must not contradict (a Rust prefilter derived
from these has to be necessary for them):

- `KeyPath` is a data-model path (`a.b`, `a[0].b`, `a[*].b`, `$.a`); key lookups are exact-case
  first, then case-insensitive, like the event object. It selects the values found (a
  wildcard may select several); a path that finds nothing reads as one null, as `deep_get`
  does (so `Equals` null holds for a missing key).
- Positive conditions hold when at least one selected value satisfies them; each negative
  condition is exactly the negation of its positive twin (so `DoesNotEqual` holds for a
  missing key). A value satisfies:
  - Equals / DoesNotEqual: when it equals `Value`, same JSON type (`true` is not `1`, 1 is 1.0);
  - IsIn / IsNotIn: when it equals (as above) one of `Values` (or `Value`, if a list);
  - StartsWith, EndsWith: when it is a string with that prefix / suffix (case-sensitive);
  - Contains / DoesNotContain: when it is a string containing `Value`, or a list with an
    element equal to it;
  - Exists / DoesNotExist: when it is not null;
  - IsNotNullOrEmpty / IsNullOrEmpty: when it is not null, `""`, `[]` or `{}`;
  - IsGreaterThan, IsLessThan, IsGreaterThanOrEqual, IsLessThanOrEqual: when it is a number,
    or a string holding one, so compared with `Value`;
  - IsIPAddressInCIDR / IsIPAddressNotInCIDR: when it is an IP address string inside `Value`
    (a CIDR) or inside one of `Values` (a list of them);
  - IsIPAddressPrivate, IsIPAddressPublic: when it is an IP address string that is private /
    globally routable (Python's `ipaddress` `is_private` / `is_global`).
  A list value is one value (use `[*]` to test its elements), except for Contains.
"""

import ipaddress

from .datamodel import _apply, compile_path


def _error(message):
    """The error for InlineFilters that cannot be evaluated as written."""
    return ValueError(f"InlineFilters: {message}")


def _same(a, b):
    """JSON equality: booleans only equal booleans (in Python `True == 1`)."""
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    return a == b


def _number(value):
    """A number for int/float values and numeric strings, else None."""
    if type(value) in (int, float):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def _ip(value):
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _need(leaf, name, check, what):
    """leaf[name], validated by `check`, or the error naming what was expected."""
    if name not in leaf or not check(leaf[name]):
        raise _error(f"{leaf.get('Condition')} on {leaf.get('KeyPath')!r} needs {name}: {what}")
    return leaf[name]


def _equals(leaf):
    expected = _need(leaf, "Value", lambda v: True, "the value to compare with")
    return lambda value: _same(value, expected)


def _is_in(leaf):
    name = "Values" if "Values" in leaf else "Value"
    choices = _need(leaf, name, lambda v: isinstance(v, list), "a list")
    return lambda value: any(_same(value, choice) for choice in choices)


def _string_test(method):
    def build(leaf):
        affix = _need(leaf, "Value", lambda v: isinstance(v, str), "a string")
        return lambda value: isinstance(value, str) and getattr(value, method)(affix)

    return build


def _contains(leaf):
    needle = _need(leaf, "Value", lambda v: True, "the value to look for")

    def test(value):
        if isinstance(value, str):
            return isinstance(needle, str) and needle in value
        if isinstance(value, list):
            return any(_same(item, needle) for item in value)
        return False

    return test


def _exists(leaf):
    return lambda value: value is not None


def _not_null_or_empty(leaf):
    return lambda value: value is not None and value != "" and value != [] and value != {}


def _compare(operator):
    def build(leaf):
        bound = _number(_need(leaf, "Value", lambda v: _number(v) is not None, "a number"))

        def test(value):
            number = _number(value)
            return number is not None and operator(number, bound)

        return test

    return build


def _in_cidr(leaf):
    name = "Values" if "Values" in leaf else "Value"
    raw = _need(leaf, name, lambda v: isinstance(v, (str, list)), "a CIDR or a list of them")
    try:
        cidrs = [raw] if isinstance(raw, str) else raw
        networks = [ipaddress.ip_network(cidr, strict=False) for cidr in cidrs]
    except (TypeError, ValueError) as exc:
        raise _error(f"{leaf.get('Condition')} on {leaf.get('KeyPath')!r}: {exc}") from None

    def test(value):
        address = _ip(value)
        return address is not None and any(
            address.version == network.version and address in network for network in networks
        )

    return test


def _private(leaf):
    return lambda value: (address := _ip(value)) is not None and address.is_private


def _public(leaf):
    return lambda value: (address := _ip(value)) is not None and address.is_global


# Condition -> (builder of the per-value test, whether the condition negates it).
_CONDITIONS = {
    "Equals": (_equals, False),
    "DoesNotEqual": (_equals, True),
    "IsIn": (_is_in, False),
    "IsNotIn": (_is_in, True),
    "StartsWith": (_string_test("startswith"), False),
    "EndsWith": (_string_test("endswith"), False),
    "Contains": (_contains, False),
    "DoesNotContain": (_contains, True),
    "Exists": (_exists, False),
    "DoesNotExist": (_exists, True),
    "IsNotNullOrEmpty": (_not_null_or_empty, False),
    "IsNullOrEmpty": (_not_null_or_empty, True),
    "IsGreaterThan": (_compare(lambda a, b: a > b), False),
    "IsLessThan": (_compare(lambda a, b: a < b), False),
    "IsGreaterThanOrEqual": (_compare(lambda a, b: a >= b), False),
    "IsLessThanOrEqual": (_compare(lambda a, b: a <= b), False),
    "IsIPAddressInCIDR": (_in_cidr, False),
    "IsIPAddressNotInCIDR": (_in_cidr, True),
    "IsIPAddressPrivate": (_private, False),
    "IsIPAddressPublic": (_public, False),
}

_GROUPS = ("All", "Any")

# What a KeyPath that finds nothing reads as.
_NOTHING_FOUND = (None,)


def _leaf(item):
    condition = item.get("Condition")
    entry = _CONDITIONS.get(condition)
    if entry is None:
        raise _error(
            f"unsupported Condition {condition!r} on {item.get('KeyPath')!r} "
            f"(supported: {', '.join(_CONDITIONS)})"
        )
    key_path = item.get("KeyPath")
    try:
        steps = compile_path(key_path)
    except ValueError as exc:
        raise _error(f"bad KeyPath: {exc}") from None
    build, negated = entry
    test = build(item)

    def holds(raw):
        for value in _apply(steps, raw) or _NOTHING_FOUND:
            if test(value):
                return not negated
        return negated

    return holds


def _item(item):
    if isinstance(item, dict) and "KeyPath" in item:
        return _leaf(item)
    if isinstance(item, dict) and item and set(item) <= set(_GROUPS):
        return _group(item) or _always
    raise _error(f"expected a KeyPath condition or an All/Any group, got {item!r}")


def _always(raw):
    """A nested group with nothing in it: it constrains nothing."""
    return True


def _group(spec):
    """The predicate of an {"All": [...], "Any": [...]} mapping, or None when both are empty."""
    unknown = set(spec) - set(_GROUPS)
    if unknown:
        raise _error(f"unsupported key(s) {sorted(unknown)} (supported: All, Any)")
    parts = []
    for name in _GROUPS:
        items = spec.get(name)
        if items is None:
            continue
        if not isinstance(items, list):
            raise _error(f"{name} must be a list")
        tests = [_item(item) for item in items]
        if not tests:
            continue  # an empty list constrains nothing
        if name == "All":
            parts.append(lambda raw, tests=tests: all(test(raw) for test in tests))
        else:
            parts.append(lambda raw, tests=tests: any(test(raw) for test in tests))
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return lambda raw: all(part(raw) for part in parts)


def compile_filters(spec):
    """A predicate over a raw event dict for a rule's InlineFilters, or None when there are
    none (null, or nothing in them). ValueError when they cannot be evaluated."""
    if spec is None:
        return None
    if isinstance(spec, list):
        spec = {"All": spec}
    if not isinstance(spec, dict):
        raise _error(f"must be a mapping with All/Any lists, got {type(spec).__name__}")
    return _group(spec)
