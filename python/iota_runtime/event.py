"""The event object given to rules (SPEC 3.2) and the key-walking helpers behind it.

`PantherEvent` is a read-only, case-insensitive mapping over one parsed event. It never copies
the event: nested dicts and lists are wrapped only when a rule reaches them, and the
lower-case key map of a dict is built only when an exact-case lookup misses. Construction is
O(1), which matters because the worker builds one per event on its hot path.
"""

import calendar
import re
from collections.abc import Mapping, Sequence

_MISSING = object()

# What parsed JSON is made of (never a wrapper).
_PLAIN_TYPES = frozenset((str, int, float, bool, type(None), dict, list))


def _wrap(value):
    """Wrap a raw JSON container so the rule cannot change it; scalars pass through."""
    kind = type(value)
    if kind is dict:
        return ImmutableCaseInsensitiveDict(value)
    if kind is list:
        return ImmutableList(value)
    return value


def _raw(value):
    """The plain object behind a wrapper (or the value itself)."""
    kind = type(value)
    if kind in _PLAIN_TYPES:
        # The wrappers are Mapping/Sequence subclasses, so isinstance() on them goes through
        # the ABC machinery: ruling out the common JSON types first keeps this cheap.
        return value
    if isinstance(value, ImmutableCaseInsensitiveDict):
        return value._d
    if isinstance(value, ImmutableList):
        return value._l
    return value


def _copy(value):
    """Deep copy of parsed JSON: only dicts and lists can be shared, everything else is immutable."""
    kind = type(value)
    if kind is dict:
        return {k: _copy(v) for k, v in value.items()}
    if kind is list:
        return [_copy(v) for v in value]
    return value


def plain(value):
    """A plain, independent deep copy of any event value (wrappers become dicts and lists)."""
    return _copy(_raw(value))


def _lower_map(data):
    """Lower-cased key -> original key; on a case collision the first key in the dict wins."""
    try:
        # Built in reverse so that the first of colliding keys is written last.
        return {key.lower(): key for key in reversed(data)}
    except AttributeError:  # a key that is not a string (parsed JSON has none)
        lower = {}
        for key in data:
            if isinstance(key, str):
                lower.setdefault(key.lower(), key)
        return lower


def _has_lower(data, wanted):
    """Whether some key of `data` lower-cases to `wanted`. Nearly every case-insensitive
    lookup misses (a rule asking for errorCode on a call that succeeded): the keys are
    compared in C, without a Python loop. True when a key is not a string (parsed JSON has
    none), leaving the answer to the full lookup."""
    try:
        return wanted in map(str.lower, data)
    except TypeError:
        return True


def _scan(data, key):
    """Case-insensitive lookup in a raw dict that has no cached key map."""
    if not isinstance(key, str):
        return _MISSING
    wanted = key.lower()
    if not _has_lower(data, wanted):
        return _MISSING
    for k, v in data.items():
        if isinstance(k, str) and k.lower() == wanted:
            return v
    return _MISSING


def _as_dict(data):
    """The dict to wrap for a constructor argument that is not a plain dict."""
    data = _raw(data)
    return data if type(data) is dict else dict(data)


def json_default(value):
    """`default=` hook for orjson/json: serialise wrappers as the data they wrap."""
    if isinstance(value, (ImmutableCaseInsensitiveDict, ImmutableList)):
        return _raw(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


class ImmutableCaseInsensitiveDict(Mapping):
    """Read-only mapping over a dict: exact-case key first, then case-insensitive."""

    __slots__ = ("_d", "_lower")

    def __init__(self, data):
        if type(data) is not dict:
            data = _as_dict(data)
        self._d = data

    def _find(self, key):
        """The raw value for `key`, or _MISSING, once the exact-case lookup has missed."""
        if not isinstance(key, str):
            return _MISSING
        wanted = key.lower()
        try:
            lower = self._lower
        except AttributeError:
            # A first miss compares the keys in C and builds no map, unless a key differing
            # in case is there to be found: most dicts never miss twice.
            if not _has_lower(self._d, wanted):
                self._lower = None
                return _MISSING
            lower = self._lower = _lower_map(self._d)
        if lower is None:
            # A second miss (rules and alert_context() ask the event for many optional
            # keys): from now on the map answers at once.
            lower = self._lower = _lower_map(self._d)
        original = lower.get(wanted)
        return _MISSING if original is None else self._d[original]

    def _lookup(self, key):
        value = self._d.get(key, _MISSING)
        if value is _MISSING:
            value = self._find(key)
        return value

    def get(self, key, default=None):
        value = self._d.get(key, _MISSING)
        if value is _MISSING:
            value = self._find(key)
            if value is _MISSING:
                return default
        kind = type(value)
        if kind is dict:
            return ImmutableCaseInsensitiveDict(value)
        if kind is list:
            return ImmutableList(value)
        return value

    def __getitem__(self, key):
        value = self._d.get(key, _MISSING)
        if value is _MISSING:
            value = self._find(key)
            if value is _MISSING:
                raise KeyError(key)
        kind = type(value)
        if kind is dict:
            return ImmutableCaseInsensitiveDict(value)
        if kind is list:
            return ImmutableList(value)
        return value

    def __contains__(self, key):
        try:
            if key in self._d:
                return True
        except TypeError:
            return False
        return self._find(key) is not _MISSING

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)

    def keys(self):
        return self._d.keys()

    def __eq__(self, other):
        if isinstance(other, ImmutableCaseInsensitiveDict):
            return self._d == other._d
        if isinstance(other, dict):
            return self._d == other
        return NotImplemented

    __hash__ = None

    def __repr__(self):
        return f"{type(self).__name__}({self._d!r})"

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return ImmutableCaseInsensitiveDict(_copy(self._d))

    def to_dict(self):
        """A plain, independent deep copy of the underlying dict."""
        return _copy(self._d)


class ImmutableList(Sequence):
    """Read-only sequence over a list; elements are wrapped when read."""

    __slots__ = ("_l",)

    def __init__(self, data):
        self._l = data if type(data) is list else list(_raw(data))

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ImmutableList(self._l[index])
        return _wrap(self._l[index])

    def __len__(self):
        return len(self._l)

    def __iter__(self):
        return map(_wrap, self._l)

    def __reversed__(self):
        return map(_wrap, reversed(self._l))

    def __contains__(self, value):
        return _raw(value) in self._l

    def __eq__(self, other):
        if isinstance(other, ImmutableList):
            return self._l == other._l
        if isinstance(other, list):
            return self._l == other
        if isinstance(other, tuple):
            return self._l == list(other)
        return NotImplemented

    __hash__ = None

    def __repr__(self):
        return f"ImmutableList({self._l!r})"

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return ImmutableList(_copy(self._l))


def _step(container, key, insensitive):
    """One level of a key walk: (raw value or _MISSING, whether lookups are case-insensitive)."""
    kind = type(container)
    if kind is dict:
        value = container.get(key, _MISSING)
        if value is _MISSING and insensitive:
            value = _scan(container, key)
        return value, insensitive
    if kind in _PLAIN_TYPES:
        return _MISSING, insensitive
    if isinstance(container, ImmutableCaseInsensitiveDict):
        return container._lookup(key), True
    if isinstance(container, Mapping):
        return container.get(key, _MISSING), insensitive
    return _MISSING, insensitive


def deep_get(obj, *keys, default=None):
    """Follow `keys` through nested mappings; `default` when a key is missing, a level is not
    a mapping, or the value found is None. Lookups are case-insensitive below an event (or
    any wrapped dict) and the result is wrapped; plain dicts are walked as they are."""
    kind = type(obj)
    if kind is PantherEvent or kind is ImmutableCaseInsensitiveDict:
        return _deep_get_wrapped(obj, keys, default)
    return _deep_get_any(obj, keys, default, False)


def _deep_get_any(value, keys, default, insensitive):
    """deep_get through any mix of dicts, wrappers and other mappings."""
    for key in keys:
        value, insensitive = _step(value, key, insensitive)
        if value is _MISSING:
            return default
    if value is None:
        return default
    return _wrap(value) if insensitive else value


def _deep_get_wrapped(wrapper, keys, default):
    """deep_get below a wrapped dict, walking the raw dicts directly: rules call this on every
    event, so it avoids the generic walk's per-level type dispatch."""
    top = value = wrapper._d
    for position, key in enumerate(keys):
        if type(value) is not dict:
            if type(value) in _PLAIN_TYPES:
                return default
            # A wrapper or mapping placed inside a hand-made dict: the generic walk.
            return _deep_get_any(value, keys[position:], default, True)
        found = value.get(key, _MISSING)
        if found is _MISSING:
            found = wrapper._find(key) if value is top else _scan(value, key)
            if found is _MISSING:
                return default
        value = found
    if value is None:
        return default
    if value is top:
        return wrapper
    kind = type(value)
    if kind is dict:
        return ImmutableCaseInsensitiveDict(value)
    if kind is list:
        return ImmutableList(value)
    return value


def _is_sequence(value):
    return isinstance(value, (list, tuple, ImmutableList)) or (
        isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))
    )


def _only_empty_lists(value):
    """True for [] and for lists holding only (recursively) empty lists."""
    return _is_sequence(value) and all(_only_empty_lists(item) for item in _raw(value))


def _unique(values):
    """Order-preserving de-duplication that also copes with unhashable values (dicts, lists)."""
    seen = set()
    out = []
    for value in values:
        try:
            if value in seen:
                continue
            seen.add(value)
        except TypeError:
            if value in out:
                continue
        out.append(value)
    return out


class _Collected(list):
    """Values deep_walk gathered from a list, as opposed to a list found in the event."""

    __slots__ = ()


def _walk(value, keys, return_val, insensitive):
    """deep_walk over raw data: the raw result, a _Collected list, or _MISSING."""
    if not keys:
        return _MISSING if _only_empty_lists(value) else value
    if isinstance(value, Mapping):
        found, _ = _step(value, keys[0], insensitive)
        if found is _MISSING or found is None:
            return _MISSING
        return _walk(found, keys[1:], return_val, insensitive)
    if not _is_sequence(value):
        return _MISSING
    collected = []
    for item in _raw(value):
        found = _walk(item, keys, return_val, insensitive)
        if found is _MISSING or found is None:
            continue
        if _is_sequence(found):
            collected.extend(_raw(found))
        else:
            collected.append(found)
    collected = _unique(collected)
    if not collected:
        return _MISSING
    if return_val == "first":
        return collected[0]
    if return_val == "last":
        return collected[-1]
    return collected[0] if len(collected) == 1 else _Collected(collected)


def deep_walk(obj, *keys, default=None, return_val="all"):
    """Like deep_get, but a list met on the way is descended element by element and the
    values found are collected (flattened one level, de-duplicated, in order).

    return_val applies when values were collected from a list: "all" gives the single value
    when there is exactly one, else a list; "first" and "last" give that element. A path
    made only of mappings returns the value it ends on. Missing, None or only empty lists
    give `default`. List elements where the path is missing are skipped. Like deep_get,
    lookups are case-insensitive and results wrapped when `obj` is an event or wrapped
    value, and plain data is walked as it is."""
    if return_val not in ("all", "first", "last"):
        raise ValueError(f"return_val must be 'all', 'first' or 'last', not {return_val!r}")
    insensitive = isinstance(obj, (ImmutableCaseInsensitiveDict, ImmutableList))
    found = _walk(obj, keys, return_val, insensitive)
    if found is _MISSING or found is None:
        return default
    if type(found) is _Collected:
        return [_wrap(v) for v in found] if insensitive else list(found)
    return _wrap(found) if insensitive else found


_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?\s*(Z|z|[+-]\d{2}:?\d{2})?"
)


def epoch_seconds(value):
    """Whole epoch seconds for a timestamp string (p_event_time or ISO 8601; no zone = UTC)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    match = _TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"not a timestamp: {value!r}")
    year, month, day, hour, minute, second, zone = match.groups()
    seconds = calendar.timegm(
        (int(year), int(month), int(day), int(hour), int(minute), int(second), 0, 0, 0)
    )
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return seconds


class PantherEvent(ImmutableCaseInsensitiveDict):
    """The event handed to every rule function.

    A read-only, case-insensitive mapping (see ImmutableCaseInsensitiveDict) plus the
    Panther-compatible helpers: deep_get, deep_walk, udm, udm_path, to_dict and
    event_time_epoch. `data_model` is the iota_runtime.datamodel.DataModel for the event's
    log type, or None."""

    __slots__ = ("_dm",)

    def __init__(self, data, data_model=None):
        if type(data) is not dict:
            data = _as_dict(data)
        self._d = data
        self._dm = data_model

    def __deepcopy__(self, memo):
        return PantherEvent(_copy(self._d), self._dm)

    def __repr__(self):
        return f"PantherEvent({self._d!r})"

    def deep_get(self, *keys, default=None):
        """deep_get(event, *keys, default=None); see iota_runtime.event.deep_get."""
        return _deep_get_wrapped(self, keys, default)

    def deep_walk(self, *keys, default=None, return_val="all"):
        """deep_walk(event, *keys, ...); see iota_runtime.event.deep_walk."""
        return deep_walk(self, *keys, default=default, return_val=return_val)

    def udm(self, *key, default=None):
        """The value of data-model field key[0] for this event's log type, then deep_get
        through the remaining keys. `default` when the log type has no data model, the model
        has no such field, or the value is missing or None."""
        if not key:
            raise TypeError("udm() needs a data model field name")
        model = self._dm
        if model is None:
            return default
        value = model.resolve(key[0], self)
        if value is _MISSING:
            return default
        return deep_get(value, *key[1:], default=default)

    def udm_path(self, name):
        """The JSON path a data-model field maps to ("$.sourceIPAddress"), or None when the
        field is computed by a method or not mapped."""
        model = self._dm
        return None if model is None else model.path_of(name)

    def event_time_epoch(self):
        """p_event_time (or, for events that have none, eventTime) as whole epoch seconds."""
        value = self._lookup("p_event_time")
        if value is _MISSING or value is None:
            value = self._lookup("eventTime")
        if value is _MISSING or value is None:
            raise ValueError("event has neither p_event_time nor eventTime")
        return epoch_seconds(value)

