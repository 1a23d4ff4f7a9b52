"""Sample class of the __lab__ lab: right answers written differently, the classic bugs, the release untouched."""

from graders.labs.sample import Sample, reference_answers, replaced

REFERENCE = reference_answers("__lab__")


def _with(**cells):
    """The reference solution with some answers replaced: a sample loses only the cells its own answers break."""
    return {**REFERENCE, **cells}


NAIVE = replaced(REFERENCE["softmax"], "np.exp(z - np.max(z, axis=-1, keepdims=True))", "np.exp(z)")
ALTERNATIVE = '''def softmax(z):
    """Through the log-sum-exp."""
    z = np.asarray(z, dtype=float)
    top = z.max(axis=-1, keepdims=True)
    return np.exp(z - top - np.log(np.exp(z - top).sum(axis=-1, keepdims=True)))'''
# Samples that break a sentence the release says word for word (tests/test_notebooks.py checks it does).
PINNED = {
    "bug-normalises-the-whole-array": (
        "softmax",
        "each row of a 2-D array is a distribution of its own",
        replaced(REFERENCE["softmax"], ", axis=-1, keepdims=True)", ")"),
    ),
}

SAMPLES = [
    Sample("reference-solution", "the instructor's solution", REFERENCE),
    Sample("correct-log-sum-exp", "through the log-sum-exp", _with(softmax=ALTERNATIVE)),
    Sample("bug-overflows", "no shift by the maximum", _with(softmax=NAIVE), loses=("test_softmax",)),
    *[
        Sample(student, f"breaks what the text pins: {pinned}", _with(**{cell: source}), loses=(f"test_{cell}",))
        for student, (cell, pinned, source) in PINNED.items()
    ],
    Sample("unanswered", "the release as handed out", loses=("test_softmax",)),
]
