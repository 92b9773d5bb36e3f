#!/usr/bin/env bash
# Regenerate requirements/test.txt, the hashed lock that CI installs from, after any change to the
# dependencies in pyproject.toml (the test, uplift and population extras: the README's test command installs them). Pins already in the lock are kept where they still fit; add
# --upgrade (or --upgrade-package NAME) to move them to the newest releases.
set -euo pipefail
cd "$(dirname "$0")/.."
CUSTOM_COMPILE_COMMAND="bash requirements/lock.sh" pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --extra test --extra uplift --extra population \
    --no-emit-index-url --no-emit-find-links \
    --output-file requirements/test.txt "$@" pyproject.toml
