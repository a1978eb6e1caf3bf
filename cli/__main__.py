"""``python -m cli``: the same as the ``bench`` command."""
from . import main

main()
