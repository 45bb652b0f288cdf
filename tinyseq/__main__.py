"""``python -m tinyseq``: the command-line interface (see ``tinyseq.cli``)."""
import sys

from .cli import main

sys.exit(main())
