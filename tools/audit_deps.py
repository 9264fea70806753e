"""Audit the installed dependencies for known vulnerabilities with pip-audit.

    python tools/audit_deps.py

Fails (exit 1) when pip-audit reports a known vulnerability in a package this environment
runs. pip-audit asks PyPI's JSON API for advisories; a machine that reaches only a package
index (a mirror, a proxy) gets no answer for any package. Then nothing could be checked, and
this says so in one line and exits 0: a dependency audit cannot gate a build it cannot see,
and an advisory published upstream should not be the reason unrelated work cannot land. Run
`make audit` where pypi.org is reachable to get the real answer (decision D20).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def main() -> int:
    audit = Path(sys.executable).with_name("pip-audit")
    done = subprocess.run(
        [str(audit), "--local", "--format", "json", "--progress-spinner", "off"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    try:
        report = json.loads(done.stdout)
    except ValueError:
        print(f"deps-audit: pip-audit failed: {done.stderr.strip()[-300:]}", file=sys.stderr)
        return 1
    packages = report.get("dependencies", [])
    vulnerable = [p for p in packages if p.get("vulns")]
    skipped = [p for p in packages if p.get("skip_reason")]
    for package in vulnerable:
        ids = ", ".join(v["id"] for v in package["vulns"])
        print(f"deps-audit: {package['name']} {package.get('version')}: {ids}", file=sys.stderr)
    audited = len(packages) - len(skipped)
    if audited == 0 and packages:
        print(
            f"deps-audit: no advisory service answered for any of {len(packages)} packages "
            "(pypi.org's JSON API is not reachable from here); run `make audit` where it is"
        )
        return 0
    print(
        f"deps-audit: {audited} packages checked, {len(skipped)} not found on PyPI, "
        f"{len(vulnerable)} with known vulnerabilities"
    )
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
