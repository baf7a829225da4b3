"""One loaded rule: its functions, its defaults, and how a match is turned into the fields of
a `results` match entry (WORKER_PROTOCOL.md, `batch`).

Only `rule()` runs on every event; everything here beyond `Rule.__init__` runs only when
`rule()` returned a truthy value, so it favours clarity over speed. `iota rules test`
(testing.py) builds its verdicts on the same `Rule.match`, so a test and a batch judge a
rule's functions by one set of rules.
"""

import inspect
import reprlib
from collections.abc import Mapping

from . import jsonio
from .event import ImmutableList
from .failures import clean_text, describe
from .inline_filters import compile_filters

SEVERITIES = frozenset(("INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"))

# The optional functions in the order the protocol lists (and the worker calls) them.
OPTIONAL_FUNCTIONS = (
    "title",
    "dedup",
    "severity",
    "alert_context",
    "description",
    "reference",
    "runbook",
    "destinations",
    "unique",
)

# What one alert may carry from a rule, however much the rule returns: alert_context as
# encoded JSON, and the number of destinations (each cut like every other string).
MAX_ALERT_CONTEXT_BYTES = 256 * 1024
MAX_DESTINATIONS = 100

_FAILED = object()


class ReturnTypeError(Exception):
    """A rule function returned a value of the wrong type or an invalid value."""


def _takes_event(function):
    """Whether severity() is `severity(event)` (or accepts it) rather than `severity()`."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in parameters
    )


def _type_name(value):
    return type(value).__name__


def normalise_severity(value):
    """Upper-cased severity, or None when it is not one of SEVERITIES."""
    if not isinstance(value, str):
        return None
    upper = value.strip().upper()
    return upper if upper in SEVERITIES else None


# identify() did not call title().
NOT_CALLED = object()


class Rule:
    """A rule module plus the metadata iota sent for it in `init`."""

    __slots__ = (
        "spec",
        "module",
        "index",
        "id",
        "panther",
        "rule",
        "accepts",
        "functions",
        "severity_takes_event",
        "default_title",
        "default_severity",
        "max_length",
        "window_seconds",
    )

    def __init__(self, spec, module, max_length):
        self.spec = spec
        self.module = module
        self.index = spec["index"]
        self.id = str(spec["id"])
        self.panther = spec.get("kind") == "panther"
        self.rule = module.rule
        # The rule's InlineFilters as a predicate over the raw event, or None: an event it
        # rejects is no match, and rule() is not called.
        self.accepts = compile_filters(spec.get("inline_filters"))
        self.functions = {}
        for name in OPTIONAL_FUNCTIONS:
            function = getattr(module, name, None)
            if callable(function):
                self.functions[name] = function
        severity = self.functions.get("severity")
        self.severity_takes_event = severity is not None and _takes_event(severity)
        display_name = spec.get("display_name")
        if self.panther and isinstance(display_name, str) and display_name:
            self.default_title = display_name
        else:
            self.default_title = self.id
        self.default_severity = normalise_severity(spec.get("severity")) or "INFO"
        self.max_length = max_length
        # Alerts group matches into windows of DedupPeriodMinutes on event time.
        self.window_seconds = max(int(spec.get("dedup_period_minutes") or 0), 1) * 60

    def rebound(self):
        """A fresh Rule over the same module and metadata, with its functions looked up again
        (a test case's mocks may have replaced some of them)."""
        return Rule(self.spec, self.module, self.max_length)

    def _clip(self, text):
        return clean_text(text[: self.max_length])

    def _call(self, name, event, event_index, errors, check):
        """Run optional function `name` and validate its result with `check`; on an exception
        or an invalid result, record an error entry and return _FAILED."""
        function = self.functions[name]
        try:
            if name == "severity" and not self.severity_takes_event:
                value = function()
            else:
                value = function(event)
            return check(value)
        except BaseException as exc:
            if isinstance(exc, ReturnTypeError):
                error, trace = f"ReturnTypeError: {name}() {exc}", ""
            else:
                error, trace = describe(exc)
            errors.append(
                {
                    "event": event_index,
                    "rule": self.index,
                    "function": name,
                    "error": error,
                    "traceback": trace,
                }
            )
            return _FAILED

    def _optional(self, name, event, event_index, errors, check):
        """The checked result of `name`, or None when it is not defined or failed."""
        if name not in self.functions:
            return None
        value = self._call(name, event, event_index, errors, check)
        return None if value is _FAILED else value

    def _text(self, value):
        if not isinstance(value, str):
            raise ReturnTypeError(f"returned {_type_name(value)}, expected str")
        return self._clip(value)

    def _optional_text(self, value):
        """description/reference/runbook: an empty string means "use the default" (null)."""
        return self._text(value) or None

    @staticmethod
    def _severity(value):
        if isinstance(value, str) and value.strip().upper() == "DEFAULT":
            return None
        severity = normalise_severity(value)
        if severity is None:
            raise ReturnTypeError(
                f"returned {reprlib.repr(value)}, expected one of INFO, LOW, MEDIUM, HIGH, "
                "CRITICAL or DEFAULT"
            )
        return severity

    @staticmethod
    def _alert_context(value):
        if not isinstance(value, Mapping):
            raise ReturnTypeError(f"returned {_type_name(value)}, expected dict")
        # Each entry takes at least 4 bytes (`"":0,`): spare encoding what cannot fit.
        if len(value) > MAX_ALERT_CONTEXT_BYTES // 4:
            raise ReturnTypeError(
                f"returned {len(value)} entries, more than fit in the "
                f"{MAX_ALERT_CONTEXT_BYTES} bytes of JSON an alert may carry"
            )
        try:
            encoded = jsonio.dumps_lenient_keys(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ReturnTypeError(f"returned a dict that is not JSON-serialisable: {exc}") from None
        if len(encoded) > MAX_ALERT_CONTEXT_BYTES:
            raise ReturnTypeError(
                f"returned {len(encoded)} bytes of JSON, more than the "
                f"{MAX_ALERT_CONTEXT_BYTES} bytes of JSON an alert may carry"
            )
        return jsonio.loads(encoded)

    def _destinations(self, value):
        if value is None:
            return None
        if not isinstance(value, (list, tuple, ImmutableList)):
            raise ReturnTypeError(f"returned {_type_name(value)}, expected a list of str or None")
        if len(value) > MAX_DESTINATIONS:
            raise ReturnTypeError(
                f"returned {len(value)} destinations, more than the {MAX_DESTINATIONS} allowed"
            )
        out = []
        for item in value:
            if not isinstance(item, str):
                raise ReturnTypeError(f"returned a list holding {_type_name(item)}, expected str")
            out.append(self._clip(item))
        return out

    def identify(self, event, event_index, errors):
        """The match entry for `event`, which rule() matched: what groups it into an alert
        (dedup string, unique() value). Errors are appended to `errors`; a failed dedup falls
        back to its default. Returns the entry, and the title when the dedup string needed it
        (else NOT_CALLED), for details()."""
        title = NOT_CALLED
        dedup = self._optional("dedup", event, event_index, errors, self._text)
        if not dedup:
            if not self.panther:
                dedup = self.id
            else:
                # Panther's default dedup string is the title.
                title = self._optional("title", event, event_index, errors, self._text)
                dedup = title or f"defaultDedupString:{self.id}"
        entry = {
            "event": event_index,
            "rule": self.index,
            "dedup": self._clip(dedup),
            "unique": self._optional("unique", event, event_index, errors, self._text),
        }
        return entry, title

    def details(self, event, event_index, errors, title=NOT_CALLED):
        """What an alert shows when `event` is its earliest match: title, severity, context,
        routing. Each failed field falls back to its default. `title`: what identify() got
        from title() (None when it failed), or NOT_CALLED."""
        if title is NOT_CALLED:
            title = self._optional("title", event, event_index, errors, self._text)
        severity = self._optional("severity", event, event_index, errors, self._severity)
        return {
            "title": title or self._clip(self.default_title),
            "severity": severity or self.default_severity,
            "alert_context": self._optional(
                "alert_context", event, event_index, errors, self._alert_context
            ),
            "description": self._optional(
                "description", event, event_index, errors, self._optional_text
            ),
            "reference": self._optional(
                "reference", event, event_index, errors, self._optional_text
            ),
            "runbook": self._optional("runbook", event, event_index, errors, self._optional_text),
            "destinations": self._optional(
                "destinations", event, event_index, errors, self._destinations
            ),
        }
