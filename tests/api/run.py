#!/usr/bin/env python3
"""Run the black-box API tests: `python3 tests/api/run.py [substring ...]`.

Only tests whose `module.test_name` contains one of the substrings run (all
when none is given); a substring after `-` leaves out the tests that contain
it (`run.py -t41_` runs all but t41).  Ends with `N passed, N failed`; exit
code 1 on failure.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

if __name__ == "__main__":
    sys.exit(harness.main(sys.argv[1:]))
