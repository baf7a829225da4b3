"""Data models: the log-type specific mappings behind `event.udm(name)`.

A mapping either points at a field with a JSONPath-like `path` or names a `method` of the
data model's Python module, called with the event. Paths support the subset data models use:
`$.a.b`, `a.b` (the `$` is optional), `$.a[0].b`, `$.a[-1]`, `$['a.b']`, `$["a"]` and the
wildcards `[*]` / `.*`. Key lookups are exact-case first, then case-insensitive, like the event.
"""

import re

from .event import _MISSING, ImmutableCaseInsensitiveDict, _scan, _wrap

_KEY, _INDEX, _ANY = "key", "index", "any"

_TOKEN = re.compile(
    r"""\.(?P<dotted>[^.\[\]]+)            # .name or .*
      | \[\s*(?P<index>-?\d+)\s*\]         # [0]
      | \[\s*(?P<star>\*)\s*\]             # [*]
      | \[\s*'(?P<single>(?:[^'\\]|\\.)*)'\s*\]   # ['a.b']
      | \[\s*"(?P<double>(?:[^"\\]|\\.)*)"\s*\]   # ["a.b"]
    """,
    re.VERBOSE,
)


def compile_path(path):
    """Parse a path into steps; ValueError for anything outside the supported subset."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError(f"data model path must be a non-empty string, not {path!r}")
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    elif not text.startswith((".", "[")):
        text = "." + text
    steps = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ValueError(f"unsupported data model path {path!r} at {text[pos:]!r}")
        if match.group("dotted") is not None:
            name = match.group("dotted")
            steps.append((_ANY, None) if name == "*" else (_KEY, name))
        elif match.group("index") is not None:
            steps.append((_INDEX, int(match.group("index"))))
        elif match.group("star") is not None:
            steps.append((_ANY, None))
        else:
            quoted = match.group("single")
            if quoted is None:
                quoted = match.group("double")
            steps.append((_KEY, re.sub(r"\\(.)", r"\1", quoted)))
        pos = match.end()
    if not steps:
        raise ValueError(f"data model path {path!r} selects nothing")
    return tuple(steps)


def _child(value, key):
    if type(value) is dict:
        found = value.get(key, _MISSING)
        return _scan(value, key) if found is _MISSING else found
    return _MISSING


def _apply(steps, root):
    """Every raw value the steps select under `root`."""
    values = [root]
    for kind, arg in steps:
        selected = []
        for value in values:
            if kind == _KEY:
                found = _child(value, arg)
                if found is not _MISSING:
                    selected.append(found)
            elif kind == _INDEX:
                if type(value) is list and -len(value) <= arg < len(value):
                    selected.append(value[arg])
            elif type(value) is dict:  # a wildcard: every child
                selected.extend(value.values())
            elif type(value) is list:
                selected.extend(value)
        if not selected:
            return selected
        values = selected
    return values


class DataModel:
    """The compiled mappings of one data model."""

    __slots__ = ("id", "_paths", "_methods")

    def __init__(self, model_id, paths, methods):
        """paths: {name: (path text, compiled steps)}; methods: {name: callable(event)}."""
        self.id = model_id
        self._paths = paths
        self._methods = methods

    def path_of(self, name):
        entry = self._paths.get(name)
        return None if entry is None else entry[0]

    def resolve(self, name, event):
        """The value of field `name` for `event` (wrapped), or _MISSING when not mapped or
        absent. A path that selects more than one value is an error: a field has one value."""
        entry = self._paths.get(name)
        if entry is not None:
            root = event._d if isinstance(event, ImmutableCaseInsensitiveDict) else event
            found = _apply(entry[1], root)
            if not found:
                return _MISSING
            if len(found) > 1:
                raise ValueError(
                    f"data model {self.id} path {entry[0]} for {name!r} matched {len(found)} values"
                )
            return _wrap(found[0])
        method = self._methods.get(name)
        if method is None:
            return _MISSING
        return method(event)
