"""``python -m touchdown``: the ``touchdown`` command."""

from touchdown.cli import main

main()
