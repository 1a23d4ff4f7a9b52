"""Honest files as students really hand them in, graded as the student meant: Windows encodings and line ends,
macOS and tool junk beside the notebook, a folder one level too deep, several notebooks (never a silent 0)."""

import codecs

import nbformat
import pytest

from graders import course
from graders.grading import grade as grading, preflight
from graders.samples.classroom import reference_sample

LAB = "mlp"
RELEASE = nbformat.read(course.ROOT / "release" / LAB / f"{LAB}.ipynb", as_version=4)
ANSWERED = reference_sample(LAB).notebook_text(RELEASE)
UNTOUCHED = nbformat.writes(RELEASE)


def _hand_in(folder, files):
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return folder


@pytest.mark.parametrize(
    "encoded",
    [
        codecs.BOM_UTF8 + ANSWERED.replace("\n", "\r\n").encode(),  # Windows: byte-order mark, CRLF
        codecs.BOM_UTF16_LE + ANSWERED.replace("\n", "\r\n").encode("utf-16-le"),  # Notepad's "Unicode"
        codecs.BOM_UTF16_BE + ANSWERED.encode("utf-16-be"),
    ],
    ids=["utf-8-bom-crlf", "utf-16-le", "utf-16-be"],
)
def test_a_notebook_saved_by_a_windows_editor_reads_as_written(tmp_path, encoded):
    path = _hand_in(tmp_path, {f"{LAB}.ipynb": encoded}) / f"{LAB}.ipynb"
    assert preflight.read_file(path).replace("\r\n", "\n") == ANSWERED
    assert (
        grading._answers_written(path, RELEASE)
        == grading._answers_written(_hand_in(tmp_path / "plain", {f"{LAB}.ipynb": ANSWERED}) / f"{LAB}.ipynb", RELEASE)
        > 0
    )


@pytest.mark.parametrize(
    "files, graded, note",
    [
        ({f"{LAB}.ipynb": ANSWERED, f"._{LAB}.ipynb": b"\x00\x05\x16\x07Mac OS X"}, f"{LAB}.ipynb", None),
        ({f"{LAB}.ipynb": ANSWERED, f"__MACOSX/._{LAB}.ipynb": b"\x00\x05\x16\x07"}, f"{LAB}.ipynb", None),
        ({f"{LAB}.ipynb": ANSWERED, f".ipynb_checkpoints/{LAB}-checkpoint.ipynb": UNTOUCHED}, f"{LAB}.ipynb", None),
        (
            {f"{LAB}.ipynb": ANSWERED, "Thumbs.db": b"\xd0\xcf\x11\xe0", ".DS_Store": b"\x00\x00\x00\x01"},
            f"{LAB}.ipynb",
            None,
        ),
        ({f"my work/{LAB}.ipynb": ANSWERED}, f"my work/{LAB}.ipynb", "the only notebook"),
        (
            {f"Copy of {LAB}.ipynb": ANSWERED, f"._Copy of {LAB}.ipynb": b"\x00"},
            f"Copy of {LAB}.ipynb",
            "the only notebook",
        ),
    ],
    ids=["apple-double", "macosx-folder", "checkpoints", "os-junk", "one-folder-deeper", "colab-copy-from-a-mac-zip"],
)
def test_junk_beside_the_notebook_is_not_a_second_notebook(tmp_path, files, graded, note):
    path, notes, concerns = grading.submitted_notebook(_hand_in(tmp_path, files), LAB, RELEASE)
    assert str(path.relative_to(tmp_path)) == graded and concerns == []
    assert (notes == []) == (note is None) and all(note in n for n in notes)


@pytest.mark.parametrize(
    "files, graded",
    [
        ({f"{LAB}.ipynb": UNTOUCHED, f"Copy of {LAB}.ipynb": ANSWERED}, f"Copy of {LAB}.ipynb"),  # the real work
        ({f"{LAB}.ipynb": ANSWERED, f"{LAB} (1).ipynb": ANSWERED}, f"{LAB}.ipynb"),  # downloaded twice: a tie
        ({"draft.ipynb": ANSWERED, "final.ipynb": ANSWERED}, "draft.ipynb"),  # a tie, neither the lab's name
    ],
    ids=["release-beside-colab-copy", "duplicate-download", "two-names"],
)
def test_of_several_notebooks_the_most_answered_is_graded_and_a_person_is_asked(tmp_path, files, graded):
    path, _, concerns = grading.submitted_notebook(_hand_in(tmp_path, files), LAB, RELEASE)
    assert path.name == graded
    assert len(concerns) == 1 and all(f"'{name}'" in concerns[0] for name in files)


def test_no_notebook_at_all_is_rejected_with_what_was_expected(tmp_path):
    with pytest.raises(preflight.Rejected, match=f"no notebook in the submission \\(a {LAB}.ipynb was expected\\)"):
        grading.submitted_notebook(_hand_in(tmp_path, {f"._{LAB}.ipynb": b"\x00", "notes.txt": "hi"}), LAB, RELEASE)
