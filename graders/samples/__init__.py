"""Test, demo and benchmark fixtures, never mounted into a sandbox: the sample class handed in and graded by plain
nbgrader (classroom.py), the shapes Colab gives a notebook (colab.py), a throwaway PostgreSQL server (postgres.py)."""
