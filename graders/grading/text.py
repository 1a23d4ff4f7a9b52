"""Text from a submission as the host shows it: in a terminal (control and invisible formatting characters
escaped) and in a spreadsheet (never a formula)."""

import re
import unicodedata

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _escaped(character):
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text):
    """Text from a submission as it may reach a terminal: control and invisible formatting characters (the
    direction overrides among them) escaped, and the lone surrogates a file name that is not UTF-8 reads as."""
    return "".join(
        _escaped(c) if CONTROL.match(c) or unicodedata.category(c) in ("Cf", "Zl", "Zp", "Cs") else c for c in str(text)
    )


def spreadsheet_safe(text):
    """shown(text), and never a formula: a cell a spreadsheet would evaluate starts with a quote (OWASP)."""
    text = shown(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
