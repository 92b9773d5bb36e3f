"""`python -m pushwise` is the `pushwise` command."""

from pushwise.cli import main

main()
