#!/usr/bin/env bash
# pip-audit over the lock (requirements/test.txt): fails when a pinned release has a known vulnerability.
# Prints how many pins could be audited at all: the vulnerability data comes from the registry's
# per-release JSON, and a package index that does not serve it leaves those pins unaudited.
set -euo pipefail
cd "$(dirname "$0")/.."
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
status=0
pip-audit --requirement requirements/test.txt --require-hashes --disable-pip --progress-spinner off \
    --format json --output "$report" || status=$?
python3 - "$report" <<'PY'
import json, sys
deps = json.load(open(sys.argv[1]))["dependencies"]
skipped = [d["name"] for d in deps if "skip_reason" in d]
vulnerable = [f'{d["name"]} {d["version"]}: {", ".join(v["id"] for v in d["vulns"])}' for d in deps if d.get("vulns")]
print(f"pip-audit: {len(deps) - len(skipped)} of {len(deps)} pins audited, {len(vulnerable)} vulnerable")
for line in vulnerable:
    print("  vulnerable:", line)
if skipped:
    print(f"  not auditable here (no per-release data from the index): {len(skipped)}")
PY
exit "$status"
