#!/bin/sh
# Build the Slack example for provided.al2023: dist/function.zip, and dist/python-layer.zip when
# given a python-build-standalone archive. The same build as `lambda-ack build` in a project of
# your own (lambda_ack/cli/build/ says what each part is and why); here the code is
# handler_example/ and the requirements this repository's lock. Needs Python 3.11+ and pip;
# `./build.sh --help` lists the options.
#   ./build.sh
#   ./build.sh --arch arm64 --python-archive cpython-3.12...-aarch64-unknown-linux-gnu-install_only_stripped.tar.gz \
#       --python-sha256 <hex>
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || {
    echo "build.sh: error: Python 3.11 or newer is needed to build (set PYTHON=/path/to/python3)" >&2
    exit 1
}
# No interpreter download here unless asked for: a layer comes from --python-archive.
case " $* " in
    *" --python-archive"*) layer= ;;
    *) layer=--no-layer ;;
esac
PYTHONPATH=$here${PYTHONPATH:+:$PYTHONPATH} exec "$python" -m lambda_ack.cli.build \
    --handler-dir "$here/handler_example" --requirements "$here/requirements.txt" \
    --out "$here/dist" $layer "$@"
