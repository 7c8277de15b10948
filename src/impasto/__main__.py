"""``python -m impasto``: the same command line as the ``impasto`` script."""

import sys

from .apps.main import main

if __name__ == "__main__":
    sys.exit(main())
