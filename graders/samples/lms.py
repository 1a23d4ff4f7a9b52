"""Synthetic LMS bulk downloads of a lab: a Canvas zip and a Moodle zip of ten students each, with the file names each
LMS writes (graders/grading/intake.py cites how), the messy honest files students really hand in, a late submission,
hostile names; and, for each student, what the intake and the grader must make of it."""

import codecs
import io
import zipfile
from dataclasses import dataclass

import nbformat

from graders.samples.classroom import sample_class

LAB = "autograd"
DUE = "2026-12-04 17:00:00 UTC"


@dataclass(frozen=True)
class HandIn:
    """One student in a download: who the LMS says they are, their files as they named them, and what must follow."""

    name: str  # as the LMS shows it
    lms_id: str
    files: dict  # the student's file name → bytes (a key "<name>.zip" holds a zip of their own)
    sample: str  # the sample class student whose answers the graded notebook holds
    student: str  # the course id the intake must give
    late: str = ""  # what the late column must say ('' on time)
    review: str = ""  # a reason the submission needs review must contain ('' for graded)
    skipped: tuple = ()  # (file, reason) the intake must skip, beside the collected ones


def _notebook(sample, release):
    return next(s for s in sample_class(LAB) if s.student == sample).notebook_text(release).encode()


def _zip(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def canvas_class(release):
    """Ten students as Canvas hands them over; the roster (below) knows nine of them and one who handed in nothing."""
    answered = _notebook("reference-solution", release)
    untouched = nbformat.writes(release).encode()
    return [
        HandIn("smithjane", "1001", {f"{LAB}.ipynb": answered}, "reference-solution", "s1001"),
        HandIn(
            "doejohn",
            "1002",
            {f"{LAB}.ipynb": answered},
            "reference-solution",
            "s1002",
            late="marked late by the LMS",
        ),
        HandIn(  # Canvas's name for a resubmitted file; saved by a Windows editor
            "garciamaria",
            "1003",
            {f"{LAB}-1.ipynb": codecs.BOM_UTF8 + _notebook("correct-alternative", release).replace(b"\n", b"\r\n")},
            "correct-alternative",
            "s1003",
        ),
        HandIn(  # the untouched release beside the real work, Colab's copy
            "nguyenan",
            "1004",
            {f"{LAB}.ipynb": untouched, f"Copy of {LAB}.ipynb": answered},
            "reference-solution",
            "s1004",
            review=f"Copy of {LAB}.ipynb",
        ),
        HandIn(  # their own zip, made on a Mac
            "mullerjorg",
            "1005",
            {
                "work.zip": _zip(
                    {f"{LAB}/{LAB}.ipynb": answered, f"__MACOSX/{LAB}/._{LAB}.ipynb": b"\x00\x05\x16\x07Mac OS X"}
                )
            },
            "reference-solution",
            "s1005",
            skipped=((f"mullerjorg_1005_9006_work/__MACOSX/{LAB}/._{LAB}.ipynb", "__MACOSX"),),
        ),
        HandIn(
            "kimsoo",
            "1006",
            {f"{LAB} (1).ipynb": _notebook("bug-mul-assigns-instead-of-adding", release)},
            "bug-mul-assigns-instead-of-adding",
            "s1006",
        ),
        HandIn(  # Notepad's "Unicode"
            "oconnorsean",
            "1007",
            {f"{LAB}.ipynb": codecs.BOM_UTF16_LE + answered.decode().replace("\n", "\r\n").encode("utf-16-le")},
            "reference-solution",
            "s1007",
        ),
        HandIn(
            "pateldev",
            "1008",
            {"notes.txt": b"I worked with Ada", f"{LAB}.ipynb": untouched},
            "unanswered",
            "s1008",
            skipped=(("notes.txt", "not a notebook"),),
        ),
        HandIn(  # a file name with a terminal escape and markup in it
            "leeamy",
            "1009",
            {f"{LAB}\x1b[31m<b>.ipynb": _notebook("bug-tanh-forgets-out-grad", release)},
            "bug-tanh-forgets-out-grad",
            "s1009",
        ),
        HandIn("brownbob", "1010", {f"{LAB}.ipynb": answered}, "reference-solution", "brownbob"),  # not on the roster
    ]


CANVAS_ROSTER = "student_id,lms_id,name\n" + "".join(
    f"s{n},{n},\n" for n in (1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1011)
)
# Zip members no LMS writes but a hostile download might hold: each is skipped, nothing lands outside.
HOSTILE_MEMBERS = {"../../escape.ipynb": b"{}", "/tmp/absolute.ipynb": b"{}"}


def canvas_zip(release):
    """The Canvas bulk download: <name>[_late]_<user id>_<attachment id>_<file name>, flat."""
    files, attachment = dict(HOSTILE_MEMBERS), 9000
    for hand_in in canvas_class(release):
        for name, data in hand_in.files.items():
            attachment += 1
            late = "_late" if hand_in.late else ""
            files[f"{hand_in.name}{late}_{hand_in.lms_id}_{attachment}_{name}"] = data
    return _zip(files)


def moodle_class(release):
    """Ten students as Moodle hands them over (download in folders), no roster: ids from the names."""
    answered = _notebook("reference-solution", release)
    crlf = _notebook("correct-alternative", release).replace(b"\n", b"\r\n")
    return [
        HandIn("Jane Smith", "501", {f"{LAB}.ipynb": answered}, "reference-solution", "jane-smith"),
        HandIn(  # late by the worksheet's time; a Colab copy downloaded on a Mac
            "José Núñez",
            "502",
            {f"Copy of {LAB}.ipynb": answered, f"._Copy of {LAB}.ipynb": b"\x00\x05\x16\x07"},
            "reference-solution",
            "jose-nunez",
            late="1 h 30 min after the due date",
            skipped=((f"._Copy of {LAB}.ipynb", "resource fork"),),
        ),
        HandIn("Alex Kim", "503", {f"{LAB}.ipynb": answered}, "reference-solution", "alex-kim-503"),
        HandIn(
            "Alex Kim",
            "504",
            {f"{LAB}.ipynb": _notebook("bug-sigmoid-overflows", release)},
            "bug-sigmoid-overflows",
            "alex-kim-504",
        ),
        HandIn(
            "Zoë OBrien",  # Moodle drops ' & < > " ` | : \\ / from names in file names
            "505",
            {f"my lab/{LAB}.ipynb": answered},
            "reference-solution",
            "zoe-obrien",
        ),
        HandIn(  # a name a spreadsheet would run
            "=HYPERLINK(httpevil.example)",
            "506",
            {f"{LAB}.ipynb": crlf},
            "correct-alternative",
            "hyperlink-httpevil-example",
        ),
        HandIn(
            "Amy Lee",
            "507",
            {f"{LAB}.ipynb": answered, f".ipynb_checkpoints/{LAB}-checkpoint.ipynb": nbformat.writes(release).encode()},
            "reference-solution",
            "amy-lee",
            skipped=((f".ipynb_checkpoints/{LAB}-checkpoint.ipynb", "checkpoint"),),
        ),
        HandIn(
            "Ann Other",
            "508",
            {f"{LAB}.ipynb": crlf, "Thumbs.db": b"\xd0\xcf\x11\xe0"},
            "correct-alternative",
            "ann-other",
            skipped=(("Thumbs.db", "operating-system file"),),
        ),
        HandIn(  # downloaded twice: the same answers under two names
            "Kai Müller",
            "509",
            {f"{LAB}.ipynb": answered, f"{LAB} (1).ipynb": answered},
            "reference-solution",
            "kai-muller",
            review=f"{LAB} (1).ipynb",
        ),
        HandIn(
            "Ida Bell",
            "510",
            {f"{LAB}.ipynb": _notebook("unanswered", release)},
            "unanswered",
            "ida-bell",
        ),
    ]


# Moodle's grading worksheet (Grading action → Download grading worksheet), the columns ./run collect --times reads.
def moodle_worksheet(release):
    rows = ["Identifier,Full name,Email address,Status,Last modified (submission)"]
    for hand_in in moodle_class(release):
        when = "Friday, 4 December 2026, 6:30 PM" if hand_in.late else "Thursday, 3 December 2026, 9:15 AM"
        rows.append(f'Participant {hand_in.lms_id},"{hand_in.name}",,Submitted,"{when}"')
    return "\n".join(rows) + "\n"


def moodle_zip(release):
    """The Moodle bulk download in folders: <full name>_<participant id>_assignsubmission_file_/<file name>, and an
    online-text answer beside one student's file."""
    files = {"Ida Bell_510_assignsubmission_onlinetext_/onlinetext.html": b"<p>see the notebook</p>"}
    for hand_in in moodle_class(release):
        for name, data in hand_in.files.items():
            files[f"{hand_in.name}_{hand_in.lms_id}_assignsubmission_file_/{name}"] = data
    return _zip(files)
