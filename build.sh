#!/bin/sh
# Build the provided.al2023 deployment: dist/function.zip, and dist/python-layer.zip when given a
# python-build-standalone archive. Needs Python 3.11+ and pip on this machine; `./build.sh --help`
# lists the options, devtools/build.py says what each part is and why.
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
PYTHONPATH=$here${PYTHONPATH:+:$PYTHONPATH} exec "$python" -m devtools.build "$@"
