"""`python -m lambda_ack.cli`: the `lambda-ack` command, without its console script."""

import sys

from lambda_ack.cli.main import main

sys.exit(main())
