"""The console's pages, one module per kind of work (who does it is in each module's docstring)."""
