"""What every command line shares (the picture command, web, batch, video): how it speaks
(``messages``), its options (``options``: parsers, the config's fields, shared groups) and
how it runs (``running``: one-line errors, exit status, Ctrl-C and SIGTERM). No torch here.
"""
