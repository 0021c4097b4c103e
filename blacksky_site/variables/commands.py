"""Variables of the command side: what chat features read (stickers, modes, languages, ...).

Imported by ``blacksky_site.config``; add a feature's variables here (or a module beside this one
when this one grows past a screenful of its own concern).
"""

from __future__ import annotations

from blacksky_site.variables import Variable

COMMANDS: tuple[Variable, ...] = ()
