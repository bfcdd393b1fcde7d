"""``python -m lola_sym.cli``: the command line."""

import sys

from lola_sym.cli import main

sys.exit(main())
