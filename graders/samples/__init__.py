"""Test and demo fixtures, never mounted into a sandbox: the sample class handed in and graded by plain nbgrader
(classroom.py), and the shapes Colab gives a notebook (colab.py)."""
