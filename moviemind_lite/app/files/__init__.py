"""Catalog files: movies and people as CSV, JSON or JSON Lines, in and out.

:mod:`.formats` reads and writes each format, :mod:`.rows` gathers the rows
of one kind a file holds (the rules each row keeps live in
:mod:`moviemind_lite.core.domain`), and :mod:`.transfer` imports a read file
into the store and exports the store to a file.

The format comes from the file name: ``.csv``, ``.json``, ``.jsonl`` or
``.ndjson``.

- **CSV**: a header row, then one entity per row. Movies use the columns
  ``slug,title,year,director,genres`` with the genres joined by ``|``
  (``Action|Science Fiction``); people use ``slug,name,birth_date,birthplace``.
  The header needs ``slug`` and the label (``title`` / ``name``); the other
  columns may be left out. An empty cell is a missing value.
- **JSON**: an array of objects with the same fields (``genres`` a list), or
  the sample catalog's document shape ``{"movies": [...], "people": [...]}``.
- **JSON Lines**: one such object per line.

Fields named ``id`` (ids belong to the home that stores a row) and the text
lists ``descriptions`` / ``bios`` are accepted and ignored: import takes facts
only. Any other unknown field makes the whole file unusable, because it most
likely means the file is of another kind or shape than the user thinks.

A row that breaks a rule (bad slug, no label, a year that is not a year) is
reported with its line (CSV, JSON Lines) or item number (JSON) and the
reason; the good rows of the same file are still imported. Text fields hold
at most ``MAX_TEXT_CHARS`` characters and no control characters (a NUL, a
line break: a title spanning lines is a quote left open), and a movie at most
``MAX_GENRES`` genres (both in :mod:`moviemind_lite.core.domain`).

Hostile CSV: a line the csv module cannot read (a field over its 131,072
character limit, text after a closing quote) is one failed row, and the rows
after it are still read; a quote still open at the end of the file refuses
the whole file, naming the line where it opened, because where its rows
were meant to end cannot be known. Files are opened by
:func:`moviemind_lite.app.inputs.open_input` (regular files only, size cap,
byte-order mark skipped).
"""
