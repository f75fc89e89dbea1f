"""`python -m lambda_ack.cli.build`: what this repository's `./build.sh` runs."""

import sys

from lambda_ack.cli.build.command import main

sys.exit(main(sys.argv[1:]))
