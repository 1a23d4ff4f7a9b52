"""What happens to a notebook between release and submission, as text → text transforms, seeded.

Two families. COLAB_SAVES are what Google Colab itself writes, one per pattern seen in real Colab-saved nbgrader
notebooks of public courses (2020–2024), each compared with its original release:
- nbgrader metadata kept byte for byte (Colab neither enforces nor drops `locked`, `deletable`, `editable`);
- an nbformat 4.5 input stays 4.5, every cell keeps its `id` and Colab mirrors it into `metadata.id`; a cell the
  student adds gets a 12-character id in both places; an older input comes back as 4.0 with random `metadata.id`s;
- one trailing space stripped from every non-blank line of every cell (since about August 2023);
- notebook metadata: the release's keys, then `colab` (and sometimes `accelerator`, `widgets` whose widget-state entry
  lacks `state`, which breaks nbconvert's HTML export: jupyter/nbconvert#1731);
- cells: `colab: {base_uri, height}` (height only for rich outputs), `outputId` only where there is output,
  `executionInfo` with the student's display name and Google user id, execution counts out of order with gaps;
- JSON 2-space indented without a trailing newline, or minified to one line when the file comes from Drive.
STUDENT_ACTIONS are what students do on top of a Colab download: paste the cells into a new notebook (nbgrader's
metadata lost), edit or delete locked cells, add scratch cells, move cells around.
"""

import json
import random
import uuid

from graders.course import grade_id

COLAB_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
# Personal data Colab writes into every executed cell: pre-flight must drop it (tests/test_colab.py looks for it).
STUDENT_NAME, STUDENT_GOOGLE_ID = "Ada Colab-Student", "04817263549172635481"
BADGE = (
    '<a href="https://colab.research.google.com/github/{repository}/blob/main/{path}" target="_parent">'
    '<img src="https://colab.research.google.com/assets/colab-badge.svg" alt="Open In Colab"/></a>'
)
WIDGET_MODEL = "3f1e7c2a9b8d4e6f8a1b2c3d4e5f6a7b"
FAKE_TRACEBACK = [
    "\u001b[0;31mNameError\u001b[0m                                 Traceback (most recent call last)",
    "\u001b[0;31mNameError\u001b[0m: name 'x' is not defined",
]


def _read(text):
    notebook = json.loads(text)
    for cell in notebook["cells"]:
        if isinstance(cell["source"], list):
            cell["source"] = "".join(cell["source"])
        cell["metadata"] = dict(cell.get("metadata", {}))
    return notebook


def _colab_id(rng):
    return "".join(rng.choices(COLAB_ID_ALPHABET, k=12))


def _strip_one_trailing_space(source):
    return "\n".join(line[:-1] if line.endswith(" ") and line.strip() else line for line in source.split("\n"))


def _lines(source):
    return source.splitlines(keepends=True)


def _outputs(number):
    """What a run left in a cell: printed text, and now and then a failed check or a plot."""
    if number % 5 == 0:
        return [
            {
                "output_type": "display_data",
                "metadata": {"needs_background": "light"},
                "data": {"image/png": "iVBORw0KGgo=", "text/plain": ["<Figure size 640x480 with 1 Axes>"]},
            }
        ]
    outputs = [{"output_type": "stream", "name": "stdout", "text": [f"output of run {number}\n"]}]
    if number % 3 == 0:  # a check that failed while the student worked, still in the saved file
        outputs.append(
            {
                "output_type": "error",
                "ename": "NameError",
                "evalue": "name 'x' is not defined",
                "traceback": FAKE_TRACEBACK,
            }
        )
    return outputs


def _execution_info(rng, number):
    return {
        "elapsed": rng.randrange(5, 30000),
        "status": "ok",
        "timestamp": 1714000000000 + 60000 * number,
        "user": {"displayName": STUDENT_NAME, "userId": STUDENT_GOOGLE_ID},
        "user_tz": -120,
    }


def _ran(cells, rng, private=False):
    """Code cells after a session: counts out of order with gaps (a cell run twice, one never), outputs unless
    private, Colab's cell metadata."""
    code = [c for c in cells if c["cell_type"] == "code"]
    counts = sorted(rng.sample(range(1, 4 * len(code) + 2), len(code)))
    if len(counts) > 3:
        counts[1], counts[2] = counts[2], counts[1]
    for cell, count in zip(code, counts):
        never_run = count % 7 == 0
        cell["execution_count"] = None if never_run or private else count
        cell["outputs"] = [] if never_run or private else (cell.get("outputs") or _outputs(count))
        colab = {"base_uri": "https://localhost:8080/"}
        if any(o.get("output_type") == "display_data" for o in cell["outputs"]):
            colab["height"] = 430
        cell["metadata"]["colab"] = colab
        if cell["outputs"]:
            cell["metadata"]["outputId"] = str(uuid.UUID(int=rng.getrandbits(128)))
        if not never_run:
            cell["metadata"]["executionInfo"] = _execution_info(rng, count)


def _ids(notebook, rng, mirrored):
    """4.5 kept: every id mirrored into metadata.id, a new cell's made up. Older: random metadata ids only."""
    for cell in notebook["cells"]:
        cell_id = cell.pop("id", None)
        cell_id = cell_id if mirrored and cell_id else _colab_id(rng)
        if mirrored:
            cell["id"] = cell_id
        cell["metadata"] = {**cell["metadata"], "id": cell_id}


def _write(notebook, minified=False):
    """Colab's JSON: source as lists of lines, 2-space indent and no trailing newline; or one line from Drive."""
    for cell in notebook["cells"]:
        cell["source"] = _lines(cell["source"])
    if minified:
        return json.dumps(notebook, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(notebook, indent=2, ensure_ascii=False)


def _colab_file(notebook, seed=0, mirrored=True, private=False, minified=False, colab=None):
    rng = random.Random(seed)
    _ids(notebook, rng, mirrored)
    for cell in notebook["cells"]:
        cell["source"] = _strip_one_trailing_space(cell["source"])
    _ran(notebook["cells"], rng, private)
    notebook["metadata"] = {
        **notebook.get("metadata", {}),
        "colab": {"provenance": [], **(colab or {}), **({"private_outputs": True} if private else {})},
    }
    notebook["nbformat"], notebook["nbformat_minor"] = 4, (5 if mirrored else 0)
    return _write(notebook, minified)


# --- what Colab writes ------------------------------------------------------------------------------------------


def download_2024(text):
    """File → Download .ipynb after a session: ids mirrored, one trailing space stripped, outputs and executionInfo."""
    return _colab_file(_read(text))


def github_save_2024(text):
    """File → Save a copy in GitHub: an "Open in Colab" badge cell at the top with no top-level id."""
    notebook = _read(text)
    badge = {
        "cell_type": "markdown",
        "metadata": {"id": "view-in-github", "colab_type": "text"},
        "source": _lines(BADGE.format(repository="student/course-work", path="my-work.ipynb")),
    }
    saved = json.loads(_colab_file(notebook, seed=1, colab={"include_colab_link": True}))
    saved["cells"].insert(0, badge)  # added after the save: Colab gives it no top-level id
    return json.dumps(saved, indent=2, ensure_ascii=False)


def drive_minified(text):
    """A file taken from Google Drive: the same notebook, minified to one line."""
    return _colab_file(_read(text), seed=2, minified=True)


def private_outputs(text):
    """Saved with "omit code cell output" set: no outputs and no execution counts at all."""
    return _colab_file(_read(text), seed=3, private=True)


def older_release_round_trip(text):
    """A release written as nbformat 4.4 (no cell ids) comes back as 4.0 with random 12-character metadata ids."""
    notebook = _read(text)
    for cell in notebook["cells"]:
        cell.pop("id", None)
    return _colab_file(notebook, seed=4, mirrored=False)


def worked_session(text):
    """A real session: Drive mounted, scratch cells, a progress-bar widget whose saved state lacks `state`,
    Colab-only output types, an accelerator."""
    notebook = _read(text)
    rng = random.Random(5)
    cells = [
        {
            "cell_type": "code",
            "metadata": {},
            "id": _colab_id(rng),
            "execution_count": None,
            "source": "from google.colab import drive\ndrive.mount('/content/drive')",
            "outputs": [{"output_type": "stream", "name": "stdout", "text": ["Mounted at /content/drive\n"]}],
        }
    ]
    for cell in notebook["cells"]:
        cells.append(cell)
        if cell["metadata"].get("nbgrader", {}).get("solution") and cell["cell_type"] == "code":
            cells.append(
                {
                    "cell_type": "code",
                    "metadata": {},
                    "id": _colab_id(rng),
                    "execution_count": None,
                    "source": "'trying things out'  ",
                    "outputs": [
                        {
                            "output_type": "execute_result",
                            "execution_count": 1,
                            "metadata": {},
                            "data": {
                                "text/plain": ["'trying things out'"],
                                "application/vnd.google.colaboratory.intrinsic+json": {"type": "string"},
                            },
                        }
                    ],
                }
            )
    cells.append(
        {
            "cell_type": "code",
            "metadata": {},
            "id": _colab_id(rng),
            "execution_count": None,
            "source": "from tqdm.auto import tqdm\nfor _ in tqdm(range(20)):\n    pass",
            "outputs": [
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {
                        "application/vnd.jupyter.widget-view+json": {
                            "model_id": WIDGET_MODEL,
                            "version_major": 2,
                            "version_minor": 0,
                        },
                        "text/plain": ["100%|##########| 20/20 [00:00<00:00, 9000.00it/s]"],
                    },
                }
            ],
        }
    )
    notebook["cells"] = cells
    notebook["metadata"] = {
        **notebook.get("metadata", {}),
        "accelerator": "GPU",
        "widgets": {
            "application/vnd.jupyter.widget-state+json": {  # the models, with no "state" key around them
                WIDGET_MODEL: {
                    "model_module": "@jupyter-widgets/controls",
                    "model_module_version": "1.5.0",
                    "model_name": "HBoxModel",
                    "state": {"children": []},
                }
            }
        },
    }
    return _colab_file(notebook, seed=6, colab={"name": "backprop.ipynb", "toc_visible": True})


# --- what students do ------------------------------------------------------------------------------------------


def strip_grading_metadata(text):
    """The cells pasted into a fresh Colab notebook: every trace of nbgrader gone, Colab's own random ids."""
    notebook = _read(text)
    for cell in notebook["cells"]:
        for key in ("nbgrader", "deletable", "editable", "trusted"):
            cell["metadata"].pop(key, None)
        cell.pop("id", None)
    notebook["metadata"].pop("nbgrader", None)
    return _colab_file(notebook, seed=7, mirrored=False)


def edit_locked(text):
    """Locked cells edited (Colab ignores the lock): the first locked cell, the checks, the first test cell."""
    notebook = _read(text)
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    code[0]["source"] += "\nprint('my own line in a locked cell')"
    next(c for c in code if (grade_id(c) or "") == "visible_checks")["source"] += "\nprint('checks loaded')"
    next(c for c in code if (grade_id(c) or "").startswith("test_"))["source"] = (
        "pass  # kept failing, so I turned it off"
    )
    return download_2024(json.dumps(notebook))


def delete_locked(text):
    """Locked cells deleted: the visible checks, the last test cell, and an instruction cell."""
    notebook = _read(text)
    last_test = [c for c in notebook["cells"] if (grade_id(c) or "").startswith("test_")][-1]
    instruction = next(c for c in notebook["cells"] if c["cell_type"] == "markdown" and not (grade_id(c) or ""))
    notebook["cells"] = [
        c
        for c in notebook["cells"]
        if c is not last_test and c is not instruction and (grade_id(c) or "") != "visible_checks"
    ]
    return download_2024(json.dumps(notebook))


def add_scratch(text):
    """Scratch cells: notes at the top, a first try of each answer above it, an experiment that fails."""
    notebook = _read(text)
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "My notes for this lab"}]
    for cell in notebook["cells"]:
        is_answer = cell["metadata"].get("nbgrader", {}).get("solution") and cell["cell_type"] == "code"
        if is_answer and cell["source"].startswith("def "):
            signature = cell["source"].split("\n", 1)[0]
            cells.append(
                {
                    "cell_type": "code",
                    "metadata": {},
                    "outputs": [],
                    "execution_count": None,
                    "source": f"{signature}\n    return None  # first try, superseded below",
                }
            )
        cells.append(cell)
        if is_answer:
            cells.append(
                {
                    "cell_type": "code",
                    "metadata": {},
                    "outputs": [],
                    "execution_count": None,
                    "source": "scratch = [1, 2, 3]\nprint(len(scratch))\nundefined_name_from_an_experiment",
                }
            )
    notebook["cells"] = cells
    return download_2024(json.dumps(notebook))


def reorder(text):
    """Every cell moved: the saved file lists them in a shuffled order (grading metadata kept)."""
    notebook = _read(text)
    random.Random(1).shuffle(notebook["cells"])
    return download_2024(json.dumps(notebook))


def stripped_with_scratch_and_edits(text):
    """The harshest file: scratch cells and edited locked cells, then every trace of nbgrader lost."""
    return strip_grading_metadata(edit_locked(add_scratch(text)))


COLAB_SAVES = {
    f.__name__: f
    for f in (
        github_save_2024,
        download_2024,
        drive_minified,
        private_outputs,
        older_release_round_trip,
        worked_session,
    )
}
STUDENT_ACTIONS = {
    f.__name__: f
    for f in (strip_grading_metadata, edit_locked, delete_locked, add_scratch, reorder, stripped_with_scratch_and_edits)
}
TRANSFORMS = {**COLAB_SAVES, **STUDENT_ACTIONS}
# What a person must look at afterwards: a test cell that was changed or is gone.
FLAGGED = {"edit_locked", "delete_locked", "stripped_with_scratch_and_edits"}
# Transforms after which the repaired notebook holds cells the untransformed one does not (the student's own).
ADDS_CELLS = {"github_save_2024", "worked_session", "add_scratch", "stripped_with_scratch_and_edits"}
