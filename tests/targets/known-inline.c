/*
 * known-inline.c: allocations made inside functions the compiler inlined.
 *
 *	known-inline EXPECT.json
 *
 * inner_alloc is inlined (always_inline) into middle_alloc, itself inlined
 * into outer_site, which is a real function.  One return address then
 * stands for three frames; memtop must show all three, innermost first,
 * each at its own line, and mark the two inlined ones.
 */

/*
 * Whatever CFLAGS say: at -O2 outer_site would tail-call malloc and vanish
 * from the stack.  always_inline functions are inlined at -O0 too.
 */
#pragma GCC optimize("O0")

#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int	line_inner, line_middle, line_outer, line_main, line_start;

static inline __attribute__((always_inline)) void *
inner_alloc(size_t n)
{
	line_inner = __LINE__ + 1;
	return (malloc(n));
}

static inline __attribute__((always_inline)) void *
middle_alloc(size_t n)
{
	line_middle = __LINE__ + 1;
	return (inner_alloc(n));
}

__attribute__((noinline, noclone)) static void *
outer_site(size_t n)
{
	line_outer = __LINE__ + 1;
	return (middle_alloc(n));
}

/* The program's own function with the name of a C library start routine. */
void	*start_thread(size_t);

__attribute__((noinline, noclone)) void *
start_thread(size_t n)
{
	line_start = __LINE__ + 1;
	return (malloc(n));
}

int
main(int argc, char **argv)
{
	static char	 buf[512];
	void		*p;
	int		 n, fd;

	line_main = __LINE__ + 1;
	p = outer_site(123456);
	free(start_thread(4321));
	n = snprintf(buf, sizeof buf, "{\"inner\": %d, \"middle\": %d, "
	    "\"outer\": %d, \"main\": %d, \"bytes\": %zu, "
	    "\"start\": %d}\n", line_inner, line_middle, line_outer,
	    line_main, malloc_usable_size(p), line_start);
	free(p);
	if (argc > 1) {
		fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd == -1 || write(fd, buf, (size_t)n) != n)
			return (1);
		close(fd);
	}
	return (0);
}
