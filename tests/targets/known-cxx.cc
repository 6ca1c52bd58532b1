// known-cxx.cc: a C++ target with known allocations, for the report tests.
//
//	known-cxx EXPECT.json
//
// new and new[] reach malloc through libstdc++'s operator new; memtop must
// count them and name the C++ function that called new, demangled.  The
// allocating member function sits in a namespace and a class so that its
// demangled name is known: "known::Holder::fill(unsigned long)".

// The expected lines hold only without optimisation, whatever CXXFLAGS say.
#pragma GCC optimize("O0")

#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

namespace known {

class Holder {
public:
	static const int	N = 50;
	char			*blocks[N];
	uint64_t		 bytes = 0;
	int			 line = 0;

	__attribute__((noinline)) void
	fill(unsigned long size)
	{
		for (int i = 0; i < N; i++) {
			blocks[i] = new char[size]; line = __LINE__;
			bytes += malloc_usable_size(blocks[i]);
		}
	}

	__attribute__((noinline)) void
	drop()
	{
		for (int i = 0; i < N; i++)
			delete[] blocks[i];
	}
};

struct Node {
	Node	*next;
	char	 payload[200];
};

// Builds a list of n nodes with plain new.
__attribute__((noinline)) static Node *
make_list(int n, uint64_t *bytes, int *line)
{
	Node	*head = nullptr;

	for (int i = 0; i < n; i++) {
		Node *nd = new Node; *line = __LINE__;
		*bytes += malloc_usable_size(nd);
		nd->next = head;
		head = nd;
	}
	return head;
}

}	// namespace known

int
main(int argc, char **argv)
{
	static char	 buf[4096];
	known::Holder	*h;
	known::Node	*list, *next;
	uint64_t	 list_bytes = 0, holder_bytes;
	int		 list_line = 0, holder_line, n, fd;

	printf("known-cxx: start\n");
	fflush(stdout);

	h = new known::Holder; holder_line = __LINE__;
	holder_bytes = malloc_usable_size(h);
	h->fill(3000);
	list = known::make_list(100, &list_bytes, &list_line);
	h->drop();
	for (; list != nullptr; list = next) {
		next = list->next;
		delete list;
	}

	n = snprintf(buf, sizeof buf,
	    "{\"fill\": {\"line\": %d, \"bytes\": %llu, \"count\": %d},\n"
	    " \"list\": {\"line\": %d, \"bytes\": %llu, \"count\": %d},\n"
	    " \"holder\": %llu, \"holder_line\": %d}\n", h->line,
	    (unsigned long long)h->bytes, known::Holder::N, list_line,
	    (unsigned long long)list_bytes, 100,
	    (unsigned long long)holder_bytes, holder_line);
	if (argc > 1) {
		fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd == -1 || write(fd, buf, (size_t)n) != n)
			return 1;
		close(fd);
	}
	delete h;
	return 0;
}
