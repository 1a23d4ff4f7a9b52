"""Small helpers the hidden checks share: tolerant comparison with a clear message, silence, isolation."""
import contextlib
import io
import math
import warnings

import numpy as np

# Prefix of a failure where the published point passed and other inputs did not: the report flags it.
HARD_CODED = "[right at the published values only]"
# Prefix of a failure where the graded function was not written in the notebook (e.g. the reference, aliased).
NOT_OWN = "[not defined in the notebook]"
RTOL = 1e-10   # float64 answers written differently agree to ~1e-15; every real bug is far outside this
ATOL = 1e-15


def as_float(name, value):
    """A real scalar from a student's value, or an AssertionError saying what came back instead."""
    if np.ndim(value) != 0:
        raise AssertionError(f"{name}: expected one number, got an array of shape {np.shape(value)}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AssertionError(f"{name}: expected a number, got {type(value).__name__} {value!r}") from None
    if not math.isfinite(number):
        raise AssertionError(f"{name}: expected a finite number, got {number}")
    return number


def expect_close(name, got, expected, hint="", rtol=RTOL, atol=ATOL, labels=None):
    """Fail with name, expected, got and a hint unless got matches expected elementwise.

    For arrays the message leads with the first element that differs, named by `labels` when given.
    """
    got_arr = np.asarray(got, dtype=np.float64) if _numeric(got) else None
    expected_arr = np.asarray(expected, dtype=np.float64)
    if got_arr is None or got_arr.shape != expected_arr.shape:
        shape = np.shape(got) if got_arr is not None else type(got).__name__
        raise AssertionError(f"{name}: expected shape {expected_arr.shape}, got {shape}" + _hint(hint))
    close = np.isclose(got_arr, expected_arr, rtol=rtol, atol=atol)
    if not close.all():
        if expected_arr.ndim == 0:
            detail = f"expected {_show(expected_arr)}, got {_show(got_arr)}"
        else:
            first = tuple(int(i) for i in np.argwhere(~close)[0])
            where = labels[first[0]] if labels is not None else f"[{', '.join(map(str, first))}]"
            detail = (f"{where} expected {float(expected_arr[first])!r}, got {float(got_arr[first])!r} "
                      f"({int((~close).sum())} of {close.size} differ)")
        raise AssertionError(f"{name}: {detail}" + _hint(hint))


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def _numeric(value):
    try:
        np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return True


def _show(arr):
    return repr(float(arr)) if arr.ndim == 0 else np.array2string(arr, precision=6, separator=", ")


def _hint(hint):
    return f"\n  hint: {hint}" if hint else ""


@contextlib.contextmanager
def quiet():
    """Run student code with warnings ignored and its stdout/stderr swallowed.

    nbgrader gives 0 to a test cell that writes anything to stderr, so a RuntimeWarning or a tqdm bar
    from a correct answer must not reach the cell's output.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"), \
            contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def substituted(fn, **replacements):
    """Temporarily rebind names in the module (notebook) namespace `fn` looks them up in.

    Grading a function with reference versions of what it calls makes one bug cost points once.
    """
    namespace = getattr(fn, "__globals__", None)
    if namespace is None:
        raise AssertionError(f"{getattr(fn, '__name__', fn)!r} is not a plain Python function")
    missing = object()
    saved = {name: namespace.get(name, missing) for name in replacements}
    namespace.update(replacements)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value


def call_quietly(fn, *args):
    """Call student code quietly; turn its exception into a failed check that names it."""
    name = getattr(fn, "__name__", "the function")
    try:
        with quiet():
            return fn(*args)
    except NotImplementedError:
        raise AssertionError(f"{name} is not implemented yet (it raised NotImplementedError)") from None
    except Exception as exc:  # AssertionError included: the student's own asserts are their code failing
        raise AssertionError(f"{name} raised {type(exc).__name__}: {exc}") from None


def require_function(fn, name):
    expect(callable(fn) and hasattr(fn, "__globals__"),
           f"{name} is not a function here; did its cell run without errors?")
    # Notebook code runs as __main__; an answer taken from an imported module is not the student's.
    expect(fn.__module__ == "__main__",
           f"{NOT_OWN} {name} comes from the module {fn.__module__!r}; write it in its cell")
    return fn
