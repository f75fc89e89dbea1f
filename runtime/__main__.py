"""`python -m runtime`: what `bootstrap` executes."""

from runtime.startup import main

main()
