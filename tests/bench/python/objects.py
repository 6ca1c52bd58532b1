# objects.py: an object-heavy Python workload for tests/bench/bench.py
# (about 2 s): many small dicts, tuples and strings, lists that grow past
# pymalloc's 512 bytes (so malloc and realloc are busy too), sorting and
# dropping them.


def rows(n):
    out = []
    for i in range(n):
        out.append({"id": i, "name": "row%d" % i, "pair": (i, str(i)),
                    "tags": [i % 7, i % 11]})
    return out


def main():
    total = 0
    for rnd in range(6):
        table = rows(150000)
        index = {r["name"]: r for r in table}
        table.sort(key=lambda r: (r["tags"][0], -r["id"]))
        total += len(index) + table[0]["id"]
        text = ",".join(r["name"] for r in table[:50000])
        total += len(text)
        del table, index, text
    print(total)


main()
