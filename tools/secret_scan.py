"""Fail if a file git tracks holds something shaped like a real secret.

    python tools/secret_scan.py [ROOT]

Looks for the shapes of the secrets relayq handles: Telegram bot tokens, GitHub tokens,
OpenAI and OpenRouter keys. The tests' fake secrets all say "canary" and are short, so they
do not match; anything that does is either a real secret or a fake one that looks too real,
and both should go. Prints one line per finding (file, line, kind; never the value).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SHAPES = {
    "Telegram bot token": re.compile(rb"\b\d{8,10}:[A-Za-z0-9_-]{35}\b"),
    "GitHub token": re.compile(rb"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})"),
    "OpenRouter key": re.compile(rb"\bsk-or-v1-[a-f0-9]{64}\b"),
    "OpenAI key": re.compile(rb"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{40,}"),
}


def findings(root: Path) -> list[str]:
    tracked = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=True
    ).stdout.split(b"\0")
    found = []
    for name in filter(None, tracked):
        path = root / name.decode()
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_bytes().splitlines(), 1):
            for kind, shape in SHAPES.items():
                for match in shape.finditer(line):
                    if b"canary" not in match.group(0).lower():
                        found.append(f"{name.decode()}:{number}: looks like a {kind}")
    return found


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    found = findings(root)
    for line in found:
        print(f"secret-scan: {line}", file=sys.stderr)
    print(f"secret-scan: {len(found)} secret-shaped strings in the files git tracks")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
