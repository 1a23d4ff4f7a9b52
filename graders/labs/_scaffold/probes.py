"""The __lab__ lab's checks need nothing inside the sandbox but plain calls (graders/sandbox/runtime.py)."""

ADAPTERS = {}
PROXIES = {}
