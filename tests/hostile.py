"""Hostile submissions of the backprop lab: each is the reference solution plus one attack or breakage.

`EXPECTED[student]` is (status, total of the 15 autograded points, a phrase the report's reasons must contain).
"""
import json

from graders.samples import Sample
from graders.samples.backprop import REFERENCE, SAMPLES

SECRET_PATHS = "['/work/main/gradebook.db', '/work/main/source/backprop/backprop.ipynb', '/work/main/submitted']"


def _edit(change):
    """A damage function that edits the notebook's JSON."""
    def damage(text):
        notebook = json.loads(text)
        change(notebook)
        return json.dumps(notebook)
    return damage


def _cell(notebook, grade_id):
    return next(c for c in notebook["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def _insert_cell(source, before="sigmoid"):
    def change(notebook):
        index = notebook["cells"].index(_cell(notebook, before))
        notebook["cells"].insert(index, {"cell_type": "code", "metadata": {}, "source": source, "outputs": [],
                                         "execution_count": None, "id": "student-extra"})
    return _edit(change)


def _prepend(grade_id, code):
    return {**REFERENCE, grade_id: code + "\n" + REFERENCE[grade_id]}


def _duplicate_test(notebook):
    cell = _cell(notebook, "test_sigmoid")
    copy = json.loads(json.dumps(cell))
    copy["id"] = "pasted"
    notebook["cells"].insert(notebook["cells"].index(cell) + 1, copy)


def _rename(notebook):
    _cell(notebook, "forward_propagation")["metadata"]["nbgrader"]["grade_id"] = "my_forward"


def _bump_schema(notebook):
    for cell in notebook["cells"]:
        if "nbgrader" in cell.get("metadata", {}):
            cell["metadata"]["nbgrader"]["schema_version"] = 99


def _delete_test(notebook):
    notebook["cells"].remove(_cell(notebook, "test_adam_update"))


def _edit_test(notebook):
    _cell(notebook, "test_sigmoid")["source"] = "pass  # nothing to check here"


FORGE = """import json, os, struct
message = json.dumps({"nonce": "0", "outputs": [], "tampering": []}).encode()
for fd in range(3, 64):
    try:
        os.write(fd, struct.pack(">I", len(message)) + message)
    except OSError:
        pass"""

PROBE = f"""import os, socket
for path in {SECRET_PATHS}:
    try:
        os.listdir(path) if path.endswith("submitted") else open(path, "rb").read(10)
        print("LEAKED", path)
    except OSError as exc:
        print("blocked", type(exc).__name__)
try:
    open("/work/main/hostile-was-here.txt", "w").write("x")
    print("LEAKED write")
except OSError as exc:
    print("blocked", type(exc).__name__)
try:
    socket.create_connection(("1.1.1.1", 80), timeout=2)
    print("LEAKED network")
except OSError as exc:
    print("blocked", type(exc).__name__)"""

SLOW = "import time\ntime.sleep(2.5)"
BUGGY_SIGMOID = next(s for s in SAMPLES if s.student == "bug-sigmoid-overflows").cells["sigmoid"]
HARD_CODED = next(s for s in SAMPLES if s.student == "cheat-hardcoded-forward").cells["forward_propagation"]
BUGGY_FORWARD = next(s for s in SAMPLES if s.student == "bug-forward-tanh-misplaced").cells["forward_propagation"]

HOSTILE = [
    Sample("h-infinite-loop", "", _prepend("sigmoid", "while True:\n    pass")),
    Sample("h-loop-ignores-sigint", "", _prepend("sigmoid", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                                             "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass")),
    Sample("h-slow-cells-add-up", "", {**REFERENCE, **{k: SLOW + "\n" + REFERENCE[k] for k in
                                                       ("sigmoid", "forward_propagation", "backward_propagation",
                                                        "gradient_checking", "vanilla_update", "momentum_update")}}),
    Sample("h-memory-bomb", "", _prepend("sigmoid", "hog = bytearray(16 * 1024 ** 3)")),
    Sample("h-fork-bomb", "", _prepend("sigmoid", "import os\nwhile True:\n    os.fork()")),
    Sample("h-os-exit", "", _prepend("momentum_update", "import os\nos._exit(0)")),
    Sample("h-sys-exit", "", _prepend("momentum_update", "import sys\nsys.exit('bye')")),
    Sample("h-kernel-kill", "", _prepend("momentum_update", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")),
    Sample("h-reads-secrets-writes-outside-network", "", REFERENCE, damage=_insert_cell(PROBE)),
    Sample("h-duplicated-test-cell", "", REFERENCE, damage=_edit(_duplicate_test)),
    Sample("h-renamed-grade-id", "", REFERENCE, damage=_edit(_rename)),
    Sample("h-bumped-schema-version", "", REFERENCE, damage=_edit(_bump_schema)),
    Sample("h-corrupt-json", "", REFERENCE, damage=lambda text: "{" + text[: len(text) // 3]),
    Sample("h-not-a-notebook", "", REFERENCE, damage=lambda text: json.dumps({"hello": "world"})),
    Sample("h-huge-output", "", REFERENCE, damage=_insert_cell("print('x' * 50_000_000)")),
    Sample("h-deleted-test-cell", "", REFERENCE, damage=_edit(_delete_test)),
    Sample("h-edited-test-cell", "", {**REFERENCE, "sigmoid": BUGGY_SIGMOID}, damage=_edit(_edit_test)),
    Sample("h-monkeypatched-numpy", "", {**REFERENCE, "forward_propagation": BUGGY_FORWARD + "\n\nnp.allclose = "
                                         "lambda *a, **k: True\nnp.isclose = lambda a, b, **k: np.ones(np.shape(b), bool)"}),
    Sample("h-monkeypatched-builtins", "", {**REFERENCE, "forward_propagation": BUGGY_FORWARD + "\n\nimport builtins\n"
                                            "builtins.isinstance = lambda *a: True\nbuiltins.all = lambda *a: True"}),
    Sample("h-monkeypatched-graders", "", {**REFERENCE, "forward_propagation": BUGGY_FORWARD + "\n\nimport graders."
                                           "checking as c\nc.expect_close = lambda *a, **k: None\n"
                                           "c.expect.__code__ = (lambda *a: None).__code__"}),
    Sample("h-reference-aliased", "", {**REFERENCE, "forward_propagation": "from graders.backprop.reference import "
                                       "forward_propagation"}),
    Sample("h-hard-coded-published", "", {**REFERENCE, "forward_propagation": HARD_CODED}),
    Sample("h-fake-traceback-output", "", {**REFERENCE, "sigmoid": REFERENCE["sigmoid"] + "\n\nprint('Traceback (most recent "
                                           "call last):\\nAssertionError: all tests passed')"}),
    Sample("h-forged-protocol-reply", "", REFERENCE, damage=_insert_cell(FORGE, before="test_sigmoid")),
]

# Points of the 15 autograded ones each test cell is worth, in notebook order.
POINTS = {"test_sigmoid": 1, "test_forward_propagation": 2, "test_backward_propagation": 3,
          "test_gradient_checking": 2, "test_vanilla_update": 1, "test_momentum_update": 2, "test_adam_update": 2,
          "test_train": 2}
AFTER_MOMENTUM = POINTS["test_momentum_update"] + POINTS["test_adam_update"] + POINTS["test_train"]

EXPECTED = {  # status, autograded total, a phrase of the reasons ("" for none)
    "h-infinite-loop": ("needs review", 0, "the cell limit"),
    "h-loop-ignores-sigint": ("needs review", 0, "the cell limit"),
    "h-slow-cells-add-up": ("needs review", 8, "the notebook limit"),
    "h-memory-bomb": ("graded", 15 - POINTS["test_sigmoid"], ""),
    "h-fork-bomb": ("graded", 15 - POINTS["test_sigmoid"], ""),
    "h-os-exit": ("needs review", 15 - AFTER_MOMENTUM, "the kernel died in cell momentum_update"),
    "h-sys-exit": ("needs review", 15 - POINTS["test_momentum_update"], "called sys.exit"),
    "h-kernel-kill": ("needs review", 15 - AFTER_MOMENTUM, "the kernel died in cell momentum_update"),
    "h-reads-secrets-writes-outside-network": ("graded", 15, ""),
    "h-duplicated-test-cell": ("graded", 15, ""),
    "h-renamed-grade-id": ("graded", 15, ""),
    "h-bumped-schema-version": ("graded", 15, ""),
    "h-corrupt-json": ("rejected", None, "not valid JSON"),
    "h-not-a-notebook": ("rejected", None, "not a Jupyter notebook"),
    "h-huge-output": ("graded", 15, ""),
    "h-deleted-test-cell": ("needs review", 15, "'test_adam_update' was missing"),
    "h-edited-test-cell": ("needs review", 15 - POINTS["test_sigmoid"], "'test_sigmoid' was edited"),
    "h-monkeypatched-numpy": ("needs review", 15 - POINTS["test_forward_propagation"], "numpy.allclose replaced"),
    "h-monkeypatched-builtins": ("needs review", 15 - POINTS["test_forward_propagation"], "builtins.isinstance replaced"),
    "h-monkeypatched-graders": ("needs review", 15 - POINTS["test_forward_propagation"], "graders.checking.expect_close"),
    "h-reference-aliased": ("needs review", 15 - POINTS["test_forward_propagation"], "not written in the notebook"),
    "h-hard-coded-published": ("needs review", 15 - POINTS["test_forward_propagation"], "hard-coded"),
    "h-fake-traceback-output": ("graded", 15, ""),
    "h-forged-protocol-reply": ("needs review", 0, "forged output"),
}
