"""The ``crossmargin`` command line: one module per command group."""
