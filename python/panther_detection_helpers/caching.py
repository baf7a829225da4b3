"""Rule state helpers with the interface Panther rules use (SPEC 3.2): string sets, counters
and dictionaries under string keys, with optional expiry.

`epoch_seconds` is always an absolute Unix time (e.g. `event.event_time_epoch() + 3600`)
after which the key reads as missing. Keys are shared by every rule, so rules usually prefix
them with their id. Expiry is checked on every read, so `force_ttl_check` is accepted for
compatibility and has no further effect. The state lives in iota_runtime.state.
"""

from collections.abc import Mapping

from iota_runtime import jsonio, state

__all__ = [
    "add_to_string_set",
    "evaluate_threshold",
    "get_counter",
    "get_dictionary",
    "get_string_set",
    "increment_counter",
    "put_dictionary",
    "put_string_set",
    "remove_from_string_set",
    "reset_counter",
    "reset_string_set",
    "set_key_expiration",
]


def _key(key):
    if not isinstance(key, str) or not key:
        raise ValueError(f"state key must be a non-empty str, not {key!r}")
    return key


def _expiry(epoch_seconds):
    if epoch_seconds is None:
        return None
    if isinstance(epoch_seconds, bool) or not isinstance(epoch_seconds, (int, float)):
        raise TypeError(f"epoch_seconds must be a number, not {type(epoch_seconds).__name__}")
    return float(epoch_seconds)


def _members(val):
    """A frozenset of str from one str or an iterable of str."""
    if isinstance(val, str):
        return frozenset((val,))
    members = frozenset(val)
    for member in members:
        if not isinstance(member, str):
            raise TypeError(f"string set members must be str, not {type(member).__name__}")
    return members


def _string_set(value):
    if value is None:
        return set()
    if not isinstance(value, frozenset):
        raise TypeError("this state key does not hold a string set")
    return set(value)


def get_string_set(key, force_ttl_check=False):
    """The string set at `key` (an empty set when missing or expired)."""
    return _string_set(state.current().get(_key(key)))


def put_string_set(key, val, epoch_seconds=None):
    """Replace the string set at `key` with `val` (a str or an iterable of str); an empty
    `val` deletes the key."""
    members = _members(val)
    store = state.current()
    if members:
        store.put(_key(key), members, _expiry(epoch_seconds))
    else:
        store.delete(_key(key))


def add_to_string_set(key, val, epoch_seconds=None):
    """Add `val` (a str or an iterable of str) to the string set at `key`; returns the new set."""
    return set(state.current().add_members(_key(key), _members(val), _expiry(epoch_seconds)))


def remove_from_string_set(key, val):
    """Remove `val` (a str or an iterable of str) from the string set at `key`; returns the
    new set."""
    return set(state.current().remove_members(_key(key), _members(val)))


def reset_string_set(key):
    """Delete the string set at `key`."""
    state.current().delete(_key(key))


def increment_counter(key, val=1, epoch_seconds=None):
    """Add `val` to the counter at `key` (0 when missing or expired); returns the new value."""
    if isinstance(val, bool) or not isinstance(val, int):
        raise TypeError(f"counter increment must be an int, not {type(val).__name__}")
    return state.current().increment(_key(key), val, _expiry(epoch_seconds))


def get_counter(key, force_ttl_check=False):
    """The counter at `key` (0 when missing or expired)."""
    value = state.current().get(_key(key))
    if value is None:
        return 0
    if type(value) is not int:
        raise TypeError("this state key does not hold a counter")
    return value


def reset_counter(key):
    """Delete the counter at `key`."""
    state.current().delete(_key(key))


def set_key_expiration(key, epoch_seconds):
    """Make an existing key expire at `epoch_seconds`."""
    expiry = _expiry(epoch_seconds)
    if expiry is None:
        raise TypeError("epoch_seconds is required")
    state.current().expire(_key(key), expiry)


def put_dictionary(key, val, epoch_seconds=None):
    """Store the JSON-serialisable mapping `val` at `key` (a copy: later changes to `val` are
    not stored)."""
    if not isinstance(val, Mapping):
        raise TypeError(f"put_dictionary needs a dict, not {type(val).__name__}")
    state.current().put(_key(key), jsonio.dumps_lenient_keys(val), _expiry(epoch_seconds))


def get_dictionary(key, force_ttl_check=False):
    """The dictionary at `key` (an empty dict when missing or expired)."""
    value = state.current().get(_key(key))
    if value is None:
        return {}
    if not isinstance(value, bytes):
        raise TypeError("this state key does not hold a dictionary")
    return jsonio.loads(value)


def evaluate_threshold(key, threshold=10, expiry_seconds=3600):
    """Count one occurrence under `key` in a window of `expiry_seconds` that starts with the
    first occurrence; True (and the count starts over) once `threshold` is reached."""
    count = increment_counter(key)
    if count == 1:
        set_key_expiration(key, state.current().now() + expiry_seconds)
    if count >= threshold:
        reset_counter(key)
        return True
    return False
