// core-cxx.cc: C++ allocation paths that reach the tracker, for
// tests/core-edge.sh.
//
//	core-cxx
//
// Over-aligned new (operator new(size_t, align_val_t), which libstdc++
// serves with aligned_alloc), nothrow new that fails, exceptions (their
// objects come from malloc through __cxa_allocate_exception), new[] and
// delete[] of objects with destructors, containers growing, and a library
// loaded with dlopen that allocates and is unloaded.  Each runs
// in a function of its own and frees what it made; the program prints
// "core-cxx: ok B" with B the usable bytes the aligned site allocated.

#pragma GCC optimize("O0")

#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <new>
#include <stdexcept>
#include <string>
#include <vector>

struct alignas(256) Wide {
	char	bytes[1000];
};

struct Counted {
	static int	alive;
	char		pad[40];
	Counted() { alive++; }
	~Counted() { alive--; }
};
int Counted::alive = 0;

static int failed;

// Over-aligned objects: operator new with an alignment.
__attribute__((noinline)) static size_t
cxx_aligned()
{
	Wide	*w[10];
	size_t	 total = 0;

	for (int i = 0; i < 10; i++) {
		w[i] = new Wide;
		if (((uintptr_t)w[i] & 255) != 0)
			failed = 1;
		total += malloc_usable_size(w[i]);
	}
	for (int i = 0; i < 10; i++)
		delete w[i];
	return (total);
}

// nothrow new of an impossible size: nullptr, nothing counted.
__attribute__((noinline)) static void
cxx_nothrow()
{
	volatile size_t	 huge = (size_t)-1 / 2;
	char		*p = new (std::nothrow) char[huge];

	if (p != nullptr) {
		failed = 1;
		delete[] p;
	}
}

// Exceptions: thrown objects are allocated and freed by the runtime.
__attribute__((noinline)) static void
cxx_throw()
{
	for (int i = 0; i < 100; i++) {
		try {
			throw std::runtime_error(std::string(200, 'x'));
		} catch (const std::exception &e) {
			if (e.what()[0] != 'x')
				failed = 1;
		}
	}
}

// Arrays of objects with destructors, and growing containers.
__attribute__((noinline)) static void
cxx_arrays()
{
	Counted			*c = new Counted[100];
	std::vector<int>	 v;
	std::string		 s;

	delete[] c;
	if (Counted::alive != 0)
		failed = 1;
	for (int i = 0; i < 100000; i++)
		v.push_back(i);
	for (int i = 0; i < 10000; i++)
		s += "abc";
	if (v.size() != 100000 || s.size() != 30000)
		failed = 1;
}

// A library loaded after start allocates, then is unloaded: its frames
// must still be named after the program exits (the module table).
__attribute__((noinline)) static void
cxx_dlopen()
{
	typedef int	(*compress2_t)(unsigned char *, unsigned long *,
			    const unsigned char *, unsigned long, int);
	unsigned char	 in[4096], out[8192];
	unsigned long	 n;
	void		*h = dlopen("libz.so.1", RTLD_NOW);
	compress2_t	 c;

	if (h == nullptr) {
		failed = 1;
		return;
	}
	c = (compress2_t)dlsym(h, "compress2");
	memset(in, 'x', sizeof in);
	for (int i = 0; c != nullptr && i < 10; i++) {
		n = sizeof out;
		if (c(out, &n, in, sizeof in, 9) != 0)
			failed = 1;
	}
	dlclose(h);
}

int
main()
{
	size_t	aligned = cxx_aligned();

	cxx_nothrow();
	cxx_throw();
	cxx_arrays();
	cxx_dlopen();
	printf("core-cxx: %s %zu\n", failed ? "FAILED" : "ok", aligned);
	return (failed);
}
