"""Text from outside (paths, file contents, error messages) made safe to put on a terminal.

Two ways: :func:`printable` spells control characters out (a path: the user must see what is
there), :func:`plain_text` drops them (a host name in a title: one clean line).

A path or a file may hold control characters: ``LRTUI_HOME=$'…\\x1b[2J'`` would clear the
screen through any line that names the session folder. Every such text is shown with its
control characters spelled out (``\\x1b``), so the user sees what is there and the terminal
obeys nothing in it. Stdlib only: the CLI, the runner and the app all use it.
"""

from __future__ import annotations

import re
import unicodedata

#: C0 controls but tab and newline, DEL, C1 controls, and the line/paragraph separators
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: object, *, newlines: bool = True) -> str:
    """``text`` as a string whose control characters are shown as ``\\xNN`` escapes.

    ``newlines=False`` also spells out ``\\n`` and ``\\t`` (a value meant for one line).
    """
    s = str(text)
    pattern = _CONTROL if newlines else _ONE_LINE
    return pattern.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", s
    )


_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def plain_text(text: str) -> str:
    """Text from a file or another process (a host name, an error), fit for one line of a widget or a table:
    line breaks and tabs become spaces, other control and format characters (escape sequences, bidi
    overrides) are dropped. Widgets still get it as a rich ``Text``, never as markup."""
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in "\t\n\r\v\f\u2028\u2029":  # breaks, the Unicode line and paragraph separators too
            out.append(" ")
        elif category not in ("Cc", "Cf"):
            out.append(ch)
    return "".join(out)
