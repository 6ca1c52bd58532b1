/*
 * embed.c: a program that loads libpython with dlopen(RTLD_LOCAL) once it
 * is running and runs a script in it, for tests/python-states.sh: memtop
 * must find an interpreter loaded after it attached.
 *
 *     embed LIBPYTHON SCRIPT
 *
 * After Py_Initialize it allocates now and then for 300 ms, so that
 * memtop's retries (at most every 50 ms, and a library found is used at
 * the next one) have found the interpreter before the script runs.
 */

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	void	 *h;
	volatile char	*p;
	void	(*init)(void);
	int	(*run)(const char *);
	int	(*fin)(void);
	FILE	 *f;
	char	 *src;
	long	  n, i;

	if (argc != 3) {
		fprintf(stderr, "usage: embed LIBPYTHON SCRIPT\n");
		return (2);
	}
	if ((f = fopen(argv[2], "r")) == NULL ||
	    fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (src = calloc(1, n + 1)) == NULL ||
	    fread(src, 1, n, f) != (size_t)n) {
		perror(argv[2]);
		return (1);
	}
	fclose(f);
	if ((h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "embed: %s\n", dlerror());
		return (1);
	}
	init = (void (*)(void))dlsym(h, "Py_Initialize");
	run = (int (*)(const char *))dlsym(h, "PyRun_SimpleString");
	fin = (int (*)(void))dlsym(h, "Py_FinalizeEx");
	if (init == NULL || run == NULL || fin == NULL) {
		fprintf(stderr, "embed: not a libpython\n");
		return (1);
	}
	init();
	for (i = 0; i < 300; i++) {
		/* Used, so that the compiler keeps the pair. */
		if ((p = malloc(16 + i % 64)) != NULL)
			p[0] = (char)i;
		free((void *)p);
		usleep(1000);
	}
	if (run(src) != 0)
		return (1);
	return (fin() == 0 ? 0 : 1);
}
