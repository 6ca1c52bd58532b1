/*
 * gilfree.c: a loop of malloc and free that Python calls through ctypes
 * with the GIL released, for tests/python/stress.py (built by
 * tests/python-stress.sh as a shared object).
 */

#include <stdlib.h>
#include <string.h>

/* Allocate and free n blocks of varying sizes; returns a checksum. */
long
gilfree_churn(long n)
{
	long	 i, sum = 0;
	char	*p;

	for (i = 0; i < n; i++) {
		if ((p = malloc(64 + (size_t)(i % 4096) * 16)) == NULL)
			continue;
		p[0] = (char)i;
		sum += p[0];
		free(p);
	}
	return (sum);
}
