"""The course's grading secret, from which hidden inputs are drawn per student and check (graders/judging.py).

It lives in the course folder as .grading_secret: made on first use, never committed (.gitignore), never mounted
into a sandbox. Keep it for the term: a regrade then sees the same inputs. Without it nobody can know them ahead.
"""

import os
import secrets
from pathlib import Path

SECRET_FILE = ".grading_secret"


def course_secret(root):
    path = Path(root) / SECRET_FILE
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    text = path.read_text().strip()
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{path} is not a grading secret (64 hex digits); delete it to make a new one") from None
