#!/usr/bin/env python3
"""Thin shim kept for the checklist: `bin/select_target.py ARGS` is `relayq route ARGS`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.cli import main

sys.exit(main(["route", *sys.argv[1:]]))
