"""Parts of :func:`tamkit.reproduce.reproduce`: the measurements (:mod:`.runs`), the table and
trends (:mod:`.table`) and the figures (:mod:`.figures`)."""
