"""What happens to a notebook between release and submission, as text → text transforms.

`colab_save` is what Google Colab writes when a student uploads the .ipynb, runs it and downloads it again:
nbformat 4.0 (cell ids moved into metadata.id), Colab's notebook metadata, `colab` and `outputId` cell
metadata, the outputs kept, 2-space JSON. The others are what students do on top of it: lose nbgrader's
metadata (a copy into a new notebook), edit or delete locked cells (Colab does not lock them), add scratch cells,
move cells around. Each returns a Colab-saved text, seeded, so every run makes the same files.
"""
import json
import random
import uuid

from graders.grading.preflight import grade_id

COLAB_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
FAKE_TRACEBACK = ["\u001b[0;31mNameError\u001b[0m                                 Traceback (most recent call last)",
                  "\u001b[0;31mNameError\u001b[0m: name 'x' is not defined"]


def _lines(source):
    return source.splitlines(keepends=True)


def _ran_in_colab(cell, number, rng):
    """What a cell looks like after a Colab run: an execution count, outputs, Colab's cell metadata."""
    cell["execution_count"] = number
    if not cell.get("outputs"):
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": [f"output of run {number}\n"]}]
        if number % 3 == 0:  # a check that failed while the student worked, still in the saved file
            cell["outputs"].append({"output_type": "error", "ename": "NameError", "evalue": "name 'x' is not defined",
                                    "traceback": FAKE_TRACEBACK})
    cell["metadata"]["colab"] = {"base_uri": "https://localhost:8080/", "height": 35}
    cell["metadata"]["outputId"] = str(uuid.UUID(int=rng.getrandbits(128)))


def _colab_save(notebook, new_ids=False, seed=0):
    rng = random.Random(seed)
    cells = []
    for number, cell in enumerate(notebook["cells"], start=1):
        cell_id = cell.pop("id", None)
        cell["metadata"] = dict(cell.get("metadata", {}))
        cell["metadata"]["id"] = "".join(rng.choices(COLAB_ID_ALPHABET, k=12)) if new_ids or not cell_id else cell_id
        if cell["cell_type"] == "code":
            _ran_in_colab(cell, number, rng)
        ordered = {"cell_type": cell["cell_type"], "source": _lines(cell["source"]), "metadata": cell["metadata"]}
        cells.append({**ordered, **{k: v for k, v in cell.items() if k not in ordered}})
    metadata = {"colab": {"provenance": []}, "kernelspec": {"name": "python3", "display_name": "Python 3"},
                "language_info": {"name": "python"}}
    saved = {"nbformat": 4, "nbformat_minor": 0, "metadata": metadata, "cells": cells}
    return json.dumps(saved, indent=2, ensure_ascii=False) + "\n"


def _read(text):
    notebook = json.loads(text)
    for cell in notebook["cells"]:
        if isinstance(cell["source"], list):
            cell["source"] = "".join(cell["source"])
    return notebook


def colab_save(text):
    return _colab_save(_read(text))


def strip_grading_metadata(text):
    """Every trace of nbgrader gone and new cell ids: the cells pasted into a fresh Colab notebook."""
    notebook = _read(text)
    for cell in notebook["cells"]:
        for key in ("nbgrader", "deletable", "editable", "trusted"):
            cell["metadata"].pop(key, None)
    notebook["metadata"].pop("nbgrader", None)
    return _colab_save(notebook, new_ids=True)


def edit_locked(text):
    """Locked cells edited (Colab ignores the lock): the first locked cell, the checks, the first test cell."""
    notebook = _read(text)
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    code[0]["source"] += "\nprint('my own line in a locked cell')"
    next(c for c in code if (grade_id(c) or "") == "visible_checks")["source"] += "\nprint('checks loaded')"
    next(c for c in code if (grade_id(c) or "").startswith("test_"))["source"] = "pass  # kept failing, so I turned it off"
    return _colab_save(notebook)


def delete_locked(text):
    """Locked cells deleted: the visible checks, the last test cell, and an instruction cell."""
    notebook = _read(text)
    last_test = [c for c in notebook["cells"] if (grade_id(c) or "").startswith("test_")][-1]
    instruction = next(c for c in notebook["cells"] if c["cell_type"] == "markdown" and not (grade_id(c) or ""))
    notebook["cells"] = [c for c in notebook["cells"]
                         if c is not last_test and c is not instruction and (grade_id(c) or "") != "visible_checks"]
    return _colab_save(notebook)


def add_scratch(text):
    """Scratch cells: notes at the top, a first try of each answer above it, an experiment that fails."""
    notebook = _read(text)
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "My notes for this lab"}]
    for cell in notebook["cells"]:
        is_answer = cell["metadata"].get("nbgrader", {}).get("solution") and cell["cell_type"] == "code"
        if is_answer and cell["source"].startswith("def "):
            signature = cell["source"].split("\n", 1)[0]
            cells.append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                          "source": f"{signature}\n    return None  # first try, superseded below"})
        cells.append(cell)
        if is_answer:
            cells.append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                          "source": "scratch = [1, 2, 3]\nprint(len(scratch))\nundefined_name_from_an_experiment"})
    notebook["cells"] = cells
    return _colab_save(notebook)


def reorder(text):
    """Every cell moved: the saved file lists them in a shuffled order (grading metadata kept)."""
    notebook = _read(text)
    random.Random(1).shuffle(notebook["cells"])
    return _colab_save(notebook)


def stripped_with_scratch_and_edits(text):
    """The harshest file: scratch cells and edited locked cells, then every trace of nbgrader lost."""
    return strip_grading_metadata(edit_locked(add_scratch(text)))


TRANSFORMS = {f.__name__: f for f in (colab_save, strip_grading_metadata, edit_locked, delete_locked, add_scratch,
                                       reorder, stripped_with_scratch_and_edits)}
# What a person must look at afterwards: a test cell that was changed or is gone.
FLAGGED = {"edit_locked", "delete_locked", "stripped_with_scratch_and_edits"}
