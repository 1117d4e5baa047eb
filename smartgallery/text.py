"""Text that people and files give us, made safe to show: the one definition of the characters
we never show (file display names, EXIF text and person names all go through it)."""

from __future__ import annotations

import unicodedata

# Format characters (Unicode category Cf) draw nothing. Bidi controls reorder what is around
# them ("\u202egpj.exe" displays as "exe.jpg"); zero-width spaces, word joiners and byte-order
# marks hide inside a name, so two names that look the same are not. Dropped, except those
# that change how visible characters join: the zero-width joiner and non-joiner (emoji
# sequences such as a family, Persian and Indic words) and the tag characters of subdivision
# flags (England, Scotland, Wales).
_JOINING = {"\u200c", "\u200d", *(chr(c) for c in range(0xE0020, 0xE0080))}
# Letters and symbols that draw as blank space without being whitespace.
_BLANK = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}


def strip_invisible(text: str) -> str:
    """`text` without control, surrogate and (non-joining) format characters."""
    return "".join(ch for ch in text if ch in _JOINING or unicodedata.category(ch) not in ("Cc", "Cs", "Cf"))


def has_visible(text: str) -> bool:
    """Whether anything in `text` draws: not only spaces, joiners or blank letters."""
    return any(
        not ch.isspace() and ch not in _JOINING and ch not in _BLANK and unicodedata.category(ch)[0] not in "CZ"
        for ch in text
    )
