package directory

import (
	"context"
	"runtime"
	"testing"

	"idm/internal/testenv"
)

// searchCost runs filter with page size 100 and returns the entries seen,
// the heap (after GC) at each page, and allocations per entry.
func searchCost(tb testing.TB, c *Conn, filter string, keep bool) (entries int, heap []uint64, allocsPerEntry float64) {
	tb.Helper()
	var kept []Entry
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.Mallocs
	err := c.Search(context.Background(), filter, c.settings.AttributeMap, func(page []Entry) error {
		entries += len(page)
		if keep {
			kept = append(kept, page...)
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		heap = append(heap, ms.HeapAlloc)
		return nil
	})
	if err != nil {
		tb.Fatalf("Search: %v", err)
	}
	runtime.ReadMemStats(&ms)
	runtime.KeepAlive(kept)
	return entries, heap, float64(ms.Mallocs-before) / float64(entries)
}

// TestSearchMemoryFlat shows that a search holds one page at a time: the
// live heap at the last page is no larger than at the second, while a
// consumer that keeps every entry (the control) grows it; and allocations
// per entry do not depend on how many entries the directory returns.
func TestSearchMemoryFlat(t *testing.T) {
	srv := testenv.StartSlapd(t, testenv.PeopleLDIF(1000, 0))
	set := slapdSettings(srv, srv.URL)
	set.PageSize = 100
	c := mustDial(t, set, srv.AdminPassword)
	const all = "(objectClass=inetOrgPerson)"
	const flat = 128 << 10 // bytes of noise allowed between pages

	n, heap, perEntry := searchCost(t, c, all, false)
	if n != 1000 {
		t.Fatalf("saw %d entries, want 1000", n)
	}
	if grew := int64(heap[len(heap)-1]) - int64(heap[1]); grew > flat {
		t.Errorf("live heap grew by %d bytes from page 2 to page %d: %v", grew, len(heap), heap)
	}
	_, keptHeap, _ := searchCost(t, c, all, true)
	if grew := int64(keptHeap[len(keptHeap)-1]) - int64(keptHeap[1]); grew < 2*flat {
		t.Errorf("control: keeping every entry grew the heap by only %d bytes; the measurement cannot tell", grew)
	}

	small, _, smallPerEntry := searchCost(t, c, "(uid=user0000*)", false) // user000001..user000099
	if small != 99 {
		t.Fatalf("small search saw %d entries, want 99", small)
	}
	if ratio := perEntry / smallPerEntry; ratio > 1.2 || ratio < 0.8 {
		t.Errorf("allocations per entry: %.0f for 1000 entries, %.0f for 99: not constant", perEntry, smallPerEntry)
	}
	t.Logf("allocations per entry: %.0f (1000 entries), %.0f (99 entries); heap per page %v", perEntry, smallPerEntry, heap)
}

// BenchmarkSearch reads 2,000 entries in pages of 500 and reports the cost
// per entry.
func BenchmarkSearch(b *testing.B) {
	srv := testenv.StartSlapd(b, testenv.PeopleLDIF(2000, 10))
	set := slapdSettings(srv, srv.URL)
	c, err := Dial(context.Background(), set, srv.AdminPassword)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ReportAllocs()
	b.ResetTimer()
	entries := 0
	for b.Loop() {
		err := c.Search(context.Background(), "(objectClass=inetOrgPerson)", set.AttributeMap, func(page []Entry) error {
			entries += len(page)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(entries), "ns/entry")
}
