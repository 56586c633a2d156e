"""Documents the platform issues and more than one service reads: the signed ruling's canonical
form (ruling) and its printable view (ruling_pdf)."""
