#!/bin/sh
# resident-hostile.sh: the resident scan on live entries a broken or
# hostile target could leave (impossible addresses and sizes, bad weights
# and stack ids, a terabyte of unmapped space, shards that cannot be read)
# around two real blocks whose pages are known.  The checks are in
# tests/bench/pagemap-hostile.c.

exec "$top_builddir/tests/bench/pagemap-hostile"
