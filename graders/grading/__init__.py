"""Safe, fast grading on top of nbgrader: pre-flight repair, a sandboxed parallel executor, replay into nbgrader."""
