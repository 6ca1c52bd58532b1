#!/bin/sh
# timeline-history.sh: the timeline's history (tui/history.c) against every
# poll's state kept aside, with simulated time: exact values at any moment,
# bounded staleness of folded frames, growth over intervals, the memory
# bound, exec.  The checks are in tests/bench/pagemap-history.c (check).

exec "$top_builddir/tests/bench/pagemap-history" check
