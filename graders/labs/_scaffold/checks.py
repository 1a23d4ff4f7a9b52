"""Hidden checks of the __lab__ lab, judged outside the student's process (see graders/judging.py).

Each check has the name of the function it grades and takes (student, rng): it calls the notebook's function
on inputs drawn from rng and compares the plain values that come back with this lab's reference.py.
"""

from graders.judging import expect, expect_close
from graders.labs.__lab__ import reference as ref

GRADED = ("softmax",)
# Every hint a student reads, hidden or visible (the visible checks hold a copy: graders/visible.py).
HINTS = {
    "softmax": "exp(z) / sum(exp(z)) along the last axis: each row of a 2-D array is a distribution of its own",
    "softmax overflow": "subtract the row's maximum before np.exp: softmax does not change, exp cannot overflow",
}


def softmax(student, rng):
    """softmax: random rows of any length, and inputs large enough to overflow a naive np.exp."""
    z = rng.normal(0, 3, (int(rng.integers(2, 6)), int(rng.integers(2, 8))))
    expect_close(
        "softmax(random rows)",
        student.call("softmax", z).returned("softmax(random rows)"),
        ref.softmax(z),
        rtol=1e-12,
        atol=1e-15,
        hint=HINTS["softmax"],
    )
    large = rng.uniform(700, 1000, 4)
    outcome = student.call("softmax", large)
    got = outcome.returned("softmax(values near 1000)")
    expect(
        not outcome.warnings,
        "softmax overflowed for values near 1000 "
        f"({outcome.warnings[0] if outcome.warnings else ''})\n  hint: {HINTS['softmax overflow']}",
    )
    expect_close("softmax(values near 1000)", got, ref.softmax(large), hint=HINTS["softmax overflow"])
