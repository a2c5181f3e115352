"""
routes.py - the route table as the binary declares it (`cmsd --routes`), and
the helpers that turn a row into a request: shared by the tests that walk
every route (t52: tenancy, t53: the fault sweep).
"""

import json
import re
import subprocess

from harness import cmsd_bin, eq


def load_routes():
    """[{method, pattern, name, role, under, transaction, store}] of cmsd --routes."""
    run = subprocess.run([cmsd_bin(), "--routes"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=30)
    eq(run.returncode, 0, "cmsd --routes exit code")
    rows = [json.loads(line) for line in run.stdout.decode().splitlines() if line.strip()]
    assert len(rows) > 30, "cmsd --routes printed %d routes" % len(rows)
    return rows


def placeholders(pattern):
    """The placeholders of a pattern, in order: contactCenter, process, ..., str, rest."""
    return re.findall(r"\{(\w+)\}", pattern)


def fill(route, values):
    """The route's path with values[i] (anything str() takes) at placeholder i."""
    parts = re.split(r"\{(\w+)\}", route["pattern"])
    out = []
    for i, part in enumerate(parts):
        out.append(part if i % 2 == 0 else str(values[i // 2]))
    return "".join(out)
