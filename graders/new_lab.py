"""`python -m graders new-lab NAME`: a working one-function lab to start from (docs/adding-a-lab.md).

It writes the lab's package, graders/labs/NAME/, from graders/labs/_scaffold/ (a lab of its own, linted and
formatted with the rest, its name written __lab__), and its source notebook (source/NAME/NAME.ipynb, nbgrader's place
for it). The one graded function is a numerically stable softmax: the lab builds, grades and passes the lab-generic
tests as written; the author then replaces it with their own.
"""

import importlib
import re
import textwrap

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from graders import course, labs
from graders.visible import MESSAGES_BEGIN, MESSAGES_END, embed_messages

NAME = re.compile(r"[a-z][a-z0-9_]{1,30}")
SCAFFOLD = labs.HERE / "_scaffold"


def _code(text):
    return textwrap.dedent(text).strip() + "\n"


VISIBLE_CHECKS = f'''
    # Visible checks. Run this cell; the check cells below call it. (During grading, hidden checks with the same names take over.)
    import re
    import traceback
    import warnings

    {MESSAGES_BEGIN}
    {MESSAGES_END}


    class CheckFailed(AssertionError):
        """What a visible check found; Jupyter and Colab show it as its message alone."""


    def _message_only(shell, etype, value, tb, tb_offset=None):
        shell._showtraceback(etype, value, [f"{{etype.__name__}}: {{value}}"])  # this cell's lines would add nothing


    try:
        get_ipython().set_custom_exc((CheckFailed,), _message_only)
    except (NameError, AttributeError):  # not in IPython: the message comes with a traceback
        pass


    def _expect(condition, message, hint=""):
        if not condition:
            raise CheckFailed(message + (f"\\n  hint: {{hint}}" if hint else ""))


    def _call(label, fn, *args):
        """fn(*args); an error in your code becomes one message: the call, the error and a hint."""
        try:
            return fn(*args)
        except NotImplementedError:
            message, hint = f"{{label}}: not implemented yet", "write the code and remove the raise NotImplementedError() line"
        except Exception as exc:
            text = f"{{type(exc).__name__}}: {{exc}}"
            message, hint = f"{{label}} raised {{text}}", next((h for p, h in CRASH_HINTS if re.search(p, text)), "")
        raise CheckFailed(message + (f"\\n  hint: {{hint}}" if hint else "")) from None


    def _close(name, got, expected, hint=""):
        got = np.asarray(got, dtype=float)
        _expect(got.shape == np.shape(expected), f"{{name}}: expected shape {{np.shape(expected)}}, got {{got.shape}}", hint)
        _expect(np.allclose(got, expected, rtol=1e-9, atol=1e-12), f"{{name}}: expected {{np.round(expected, 6).tolist()}}, "
                f"got {{np.round(got, 6).tolist()}}", hint)


    class checks:
        """One visible check per graded function; each prints a ✓ line or stops with what is wrong and a hint."""

        @staticmethod
        def softmax(fn):
            _expect(callable(fn), "softmax is not defined yet", "run its cell, and fix any error it shows")
            _close("softmax([1, 2, 3])", _call("softmax([1, 2, 3])", fn, np.array([1.0, 2.0, 3.0])),
                   [0.09003057317038046, 0.24472847105479764, 0.6652409557748219], HINTS["softmax"])
            rows = np.array([[1.0, 2.0], [3.0, 3.0]])
            _close("softmax(two rows)", _call("softmax(two rows)", fn, rows),
                   [[0.2689414213699951, 0.7310585786300049], [0.5, 0.5]], HINTS["softmax"])
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # an overflow in np.exp is a failure here, as in grading
                _close("softmax([1000, 1000])", _call("softmax([1000, 1000])", fn, np.array([1000.0, 1000.0])),
                       [0.5, 0.5], HINTS["softmax overflow"])
            print("✓ softmax")
    '''


def _nbgrader(grade_id, grade=False, solution=False, locked=False, points=None):
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def source_notebook(lab):
    """The scaffolded lab's source notebook: an introduction, setup, visible checks, one answer and its test, a plot."""
    cells = [
        new_markdown_cell(
            f"# {lab}: a numerically stable softmax\n\nWrite `softmax(z)`: `exp(z) / sum(exp(z))` along "
            "the last axis, so each row of a 2-D array is a distribution of its own. Subtract the row's "
            "maximum first: the result is the same and `np.exp` cannot overflow.",
            id="intro",
        ),
        new_code_cell(
            "# Imports (read-only).\nimport numpy as np\nimport matplotlib.pyplot as plt",
            id="setup",
            metadata=_nbgrader("setup", locked=True),
        ),
        new_code_cell(_code(VISIBLE_CHECKS), id="visible_checks", metadata=_nbgrader("visible_checks", locked=True)),
        new_code_cell(
            _code('''
            def softmax(z):
                """exp(z) / sum(exp(z)) along the last axis, without overflow."""
                ### BEGIN SOLUTION
                z = np.asarray(z, dtype=float)
                e = np.exp(z - np.max(z, axis=-1, keepdims=True))
                return e / np.sum(e, axis=-1, keepdims=True)
                ### END SOLUTION
            ''').rstrip("\n"),
            id="softmax",
            metadata=_nbgrader("softmax", solution=True),
        ),
        new_code_cell(
            _code(f'''
            """softmax: three values, two rows and [1000, 1000]; hidden: random rows and values near 1000."""
            ### BEGIN HIDDEN TESTS
            from graders.labs.{lab} import hidden as checks
            ### END HIDDEN TESTS
            checks.softmax(softmax)
            ''').rstrip("\n"),
            id="test_softmax",
            metadata=_nbgrader("test_softmax", grade=True, locked=True, points=2),
        ),
        new_markdown_cell(
            "The next cell plots the first entry of `softmax([x, 0])` beside the sigmoid of `x`: they "
            "should be one curve.",
            id="plot_description",
        ),
        new_code_cell(
            _code("""
            x = np.linspace(-6, 6, 121)
            plt.plot(x, softmax(np.column_stack([x, np.zeros_like(x)]))[:, 0], label="softmax([x, 0])[0]")
            plt.plot(x, 1 / (1 + np.exp(-x)), "--", label="sigmoid(x)")
            plt.legend()
            plt.show()
            """).rstrip("\n"),
            id="plot",
            metadata=_nbgrader("plot", locked=True),
        ),
    ]
    notebook = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
    )
    return notebook


def new_lab(lab, course_root):
    """Write the lab's package and its source notebook; returns the files written. Refuses a name in use."""
    if not NAME.fullmatch(lab):
        raise ValueError(f"{lab!r}: a lab name is a lower-case Python identifier of 2 to 31 characters")
    package, source = labs.HERE / lab, course.layout(course_root).source / lab / f"{lab}.ipynb"
    taken = [str(path) for path in (package, source.parent) if path.exists()]
    if taken:
        raise FileExistsError(f"lab {lab!r} exists already: {', '.join(taken)}")
    package.mkdir()
    position = max((labs.part(name).POSITION for name in labs.LABS), default=0) + 1
    written = []
    for name in labs.PARTS:
        text = (SCAFFOLD / name).read_text(encoding="utf-8").replace("__lab__", lab)
        text = re.sub(r"(?m)^POSITION = 0 .*$", f"POSITION = {position}", text)
        (package / name).write_text(text, encoding="utf-8")
        written.append(package / name)
    importlib.invalidate_caches()  # the package was made after this process first looked
    source.parent.mkdir(parents=True)
    nbformat.write(embed_messages(source_notebook(lab), lab), source)
    return [*written, source]
