"""One test case of `iota rules test` (WORKER_PROTOCOL.md, `test`): the case's mocks, the
rule's InlineFilters and verdict, and the pass criteria of SPEC 3.3.

What a case makes of the functions other than `rule()` is exactly what a batch makes of them:
the values and the first failure both come from `Rule.match` and its error entries.
"""

import contextlib

from .failures import clean_text, describe
from .rules import ReturnTypeError

_NOT_RUN = {"title": None, "dedup": None, "severity": None, "alert_context": None}
_MAX_SHOWN = 200


def _result(case, matched=None, error=None, traceback=None, alert=_NOT_RUN):
    return {
        "name": case.get("name"),
        "expected": case["expected"],
        "matched": matched,
        "passed": error is None,
        "error": error,
        "traceback": traceback,
        "title": alert["title"],
        "dedup": alert["dedup"],
        "severity": alert["severity"],
        "alert_context": alert["alert_context"],
    }


def _shown(value):
    """A short repr of what rule() returned, for a failure message."""
    try:
        text = repr(value)
    except BaseException:  # the repr of a rule's own object is rule code
        text = f"a {type(value).__name__}"
    if len(text) > _MAX_SHOWN:
        text = text[:_MAX_SHOWN] + "..."
    return clean_text(text)


def _function_failure(entry):
    """(error, traceback) of a `Rule.match` error entry, naming the function that failed."""
    error = entry["error"]
    if not error.startswith(ReturnTypeError.__name__ + ": "):  # that one names it already
        error = f"{entry['function']}() raised {error}"
    return error, entry["traceback"]


def _apply_mocks(module, mocks, stack):
    """Patch each mock onto `module` until `stack` closes; the failure message of the first
    mock that cannot be applied, else None."""
    if not mocks:
        return None
    from unittest import mock  # only `iota rules test` needs it: kept off the worker's start-up

    for entry in mocks:
        name = entry["name"]
        try:
            if not hasattr(module, name):
                return (
                    f"AttributeError: cannot mock {name!r}: "
                    f"the rule module has no attribute {name!r}"
                )
            replacement = mock.MagicMock(return_value=entry.get("return_value"))
            stack.enter_context(mock.patch.object(module, name, replacement))
        except BaseException as exc:  # a module __getattr__ is rule code
            error, _ = describe(exc)
            return f"cannot mock {name!r}: {error}"
    return None


def not_imported(case, failure):
    """The `test_results` entry of a case of a rule that failed to import (its import error)."""
    error = f"the rule failed to import: {failure['error']}"
    return _result(case, error=error, traceback=failure["traceback"])


def run_case(rule, case, event):
    """The `test_results` entry of one case (a dict with `expected` bool, optional `mocks`)
    run on `event` (the case's event, already wrapped)."""
    expected = case["expected"]
    mocks = case.get("mocks")
    with contextlib.ExitStack() as stack:
        failure = _apply_mocks(rule.module, mocks, stack)
        if failure is not None:
            return _result(case, error=failure, traceback="")
        if mocks:
            rule = rule.rebound()  # a mock may have replaced rule(), title(), ...
        if rule.accepts is not None and not rule.accepts(event._d):
            if not expected:
                return _result(case, matched=False)
            error = "the event does not pass the rule's InlineFilters, expected True"
            return _result(case, matched=False, error=error, traceback="")
        try:
            value = rule.rule(event)
            matched = bool(value)
        except BaseException as exc:  # as in a batch, SystemExit and the like included
            error, trace = describe(exc)
            return _result(case, error=f"rule() raised {error}", traceback=trace)
        if not matched:
            if not expected:
                return _result(case, matched=False)
            error = f"rule() returned {_shown(value)}, expected True"
            return _result(case, matched=False, error=error, traceback="")
        errors = []
        alert, title = rule.identify(event, -1, errors)
        alert.update(rule.details(event, -1, errors, title))
        if not expected:
            error, trace = f"rule() returned {_shown(value)}, expected False", ""
        elif errors:
            error, trace = _function_failure(errors[0])
        else:
            error = trace = None
    return _result(case, matched=True, error=error, traceback=trace, alert=alert)
