#!/usr/bin/env bash
# Builds LocalStack's own virtual environment for running it without Docker
# (`make localstack-venv`; consumer/local/localstack.py starts it):
#   - Python 3.13 (localstack-core 2026.3.0 needs it): $LOCALSTACK_PYTHON, else python3.13
#     on PATH, else pyenv's newest 3.13.x; a clear error when there is none;
#   - exactly the pins of requirements.txt (--no-deps), then `pip check`;
#   - the DynamoDB provider plugin of plugin/ (DynamoDB answered by moto);
#   - kinesis-local from npm, where LocalStack looks for it, so no first call waits for it.
# Usage: tools/localstack/install.sh VENV
set -euo pipefail

venv=${1:?usage: tools/localstack/install.sh VENV}
here=$(cd "$(dirname "$0")" && pwd)
kinesis_mock_version=0.5.2 # consumer/local/localstack.py KINESIS_MOCK_VERSION

is_313() {
  "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1
}

find_python() {
  local candidate
  if [[ -n "${LOCALSTACK_PYTHON:-}" ]]; then
    if is_313 "$LOCALSTACK_PYTHON"; then
      echo "$LOCALSTACK_PYTHON"
      return 0
    fi
    echo "localstack: LOCALSTACK_PYTHON=$LOCALSTACK_PYTHON is not a Python 3.13" >&2
    return 1
  fi
  if is_313 python3.13; then
    command -v python3.13
    return 0
  fi
  if command -v pyenv >/dev/null 2>&1; then
    for candidate in $(ls -d "$(pyenv root)"/versions/3.13.* 2>/dev/null | sort -V -r); do
      if is_313 "$candidate/bin/python3.13"; then
        echo "$candidate/bin/python3.13"
        return 0
      fi
    done
  fi
  return 1
}

if ! python=$(find_python); then
  cat >&2 <<'EOF'
localstack: LocalStack (localstack-core 2026.3.0) needs Python 3.13, and none was found
  (looked at $LOCALSTACK_PYTHON, python3.13 on PATH, pyenv's 3.13.x versions).
  Install one (`pyenv install 3.13`, or your system's python3.13 package) or set
  LOCALSTACK_PYTHON=/path/to/python3.13. With Docker, docker-compose.localstack.yml
  needs none of this.
EOF
  exit 3
fi

echo "localstack: building $venv with $python" >&2
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --no-deps -r "$here/requirements.txt"
plugin=$(mktemp -d) # built from a copy: no build output in the work tree
trap 'rm -rf "$plugin"' EXIT
cp -r "$here/plugin/." "$plugin"
"$venv/bin/python" -m pip install --quiet --no-deps "$plugin"
"$venv/bin/python" -m pip check >&2

# npm (run by LocalStack's installer) trusts Node's bundled CAs only; add the system's
# store where the environment names none, as pip and curl use it.
if [[ -z "${NODE_EXTRA_CA_CERTS:-}" && -r /etc/ssl/certs/ca-certificates.crt ]]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi
# The same FILESYSTEM_ROOT layout consumer/local/localstack.py links each instance to.
mkdir -p "$venv/filesystem"
env -u PYTHONPATH OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT="$venv/filesystem" \
  KINESIS_MOCK_VERSION="$kinesis_mock_version" \
  "$venv/bin/python" -c '
from localstack.services.kinesis.packages import kinesismock_package
kinesismock_package.install()
print("localstack: kinesis-local at", kinesismock_package.get_installer().get_executable_path())
' >&2
