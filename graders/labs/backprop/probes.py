"""What the backprop lab's checks run inside the sandbox besides plain calls: no reference, no expected value."""

import numpy as np

from graders.sandbox import codec, runtime


def _snapshot(value):
    """A plain-data copy of value as it is now (later steps may change the object itself)."""
    return codec.decode(codec.encode(value))


def optimizer_steps(namespace, _make_proxy, name, w0, gradients, config, overrides):
    """Apply the notebook's update rule `name` once per gradient, carrying the config it returns (overrides[k]
    merged in before step k). Per step: the weights it returned and its config, whether it changed its w or dw
    argument in place, or what it returned instead of a pair, or the error it raised (which ends the run)."""
    rule = namespace.get(name, runtime.MISSING)
    steps, w, state = [], np.array(w0, dtype=np.float64), config
    if not callable(rule):
        return {"function": runtime.describe(rule), "steps": steps}
    for dw, override in zip(gradients, overrides):
        state = {**state, **override}
        dw = np.array(dw, dtype=np.float64)
        w_in, dw_in, warnings = w.copy(), dw.copy(), []
        try:
            with runtime.quiet(warnings):
                result = rule(w, dw, state)
        except BaseException as exc:  # the student's rule failed: say how, and stop
            steps.append({"raised": runtime.student_error(exc)})
            break
        record = {
            "mutated": not (np.array_equal(w, w_in, equal_nan=True) and np.array_equal(dw, dw_in, equal_nan=True))
        }
        steps.append(record)
        if type(result) is not tuple or len(result) != 2:
            record["returned"] = _snapshot(result)
            break
        next_w, state = result
        record["w"], record["config"] = _snapshot(next_w), _snapshot(state)
        if type(state) is not dict:
            break
        try:
            w = np.array(record["w"], dtype=np.float64)
        except (TypeError, ValueError):  # not numbers: the grader says so from record["w"]
            break
    return {"function": runtime.describe(rule), "steps": steps}


ADAPTERS = {"optimizer_steps": optimizer_steps}
PROXIES = {}
