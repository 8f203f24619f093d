#!/usr/bin/env bash
# The Redis-compatibility suites: install what they need if it is missing, build `lode`, run
# pytest. Exit status is pytest's. Environment: see conftest.py (LODE_COMPAT_TARGET=redis runs
# the suites against Debian's redis-server to validate them; LODE_SEED, LODE_TEST_SCALE).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -x /usr/bin/redis-server ] || [ ! -x /usr/bin/redis-cli ] || [ ! -x /usr/bin/redis-benchmark ]; then
    echo "== installing redis-server and redis-tools (Debian)"
    sudo_cmd=""
    if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update -q
    $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server redis-tools
fi
# The tests start their own servers; a packaged service would only hold port 6379.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
    echo "note: a system redis-server service is running; the suites do not use it"
fi

python=${PYTHON:-python3}
if ! "$python" - <<'EOF'
import sys
from importlib.metadata import version, PackageNotFoundError
pins = [line.split("==") for line in open("tests/compat/requirements.txt")
        if "==" in line and not line.startswith("#")]
try:
    sys.exit(0 if all(version(n.strip()) == v.strip() for n, v in pins) else 1)
except PackageNotFoundError:
    sys.exit(1)
EOF
then
    echo "== installing tests/compat/requirements.txt"
    "$python" -m pip install -q -r tests/compat/requirements.txt
fi

if [ "${LODE_COMPAT_TARGET:-lode}" = lode ] && [ -z "${LODE_SERVER:-}" ]; then
    echo "== cargo build --release -p lode-cli"
    cargo build --release -p lode-cli
    export LODE_SERVER="${CARGO_TARGET_DIR:-$PWD/target}/release/lode"
fi

echo "== pytest tests/compat (target: ${LODE_COMPAT_TARGET:-lode})"
exec "$python" -m pytest tests/compat -q -p no:cacheprovider
