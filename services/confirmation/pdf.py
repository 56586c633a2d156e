"""A signed ruling file printed as a PDF for a person (the layout is liandiao.documents.ruling_pdf,
shared with the console):

    python -m services.confirmation.pdf RULING.json OUT.pdf     (RULING.json: services.confirmation.verify's format)
"""

from __future__ import annotations

import base64
import json
import sys

from liandiao.documents.ruling_pdf import ruling_pdf

__all__ = ["main", "ruling_pdf"]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    signed = json.loads(open(argv[0], encoding="utf-8").read())
    with open(argv[1], "wb") as f:
        f.write(ruling_pdf(base64.b64decode(signed["document"]), signed["key_id"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
