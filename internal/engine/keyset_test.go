package engine

import (
	"fmt"
	"hash/maphash"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestKeySet(t *testing.T) {
	t.Run("AddReportsNewValuesOnceAndHasFindsThem", func(t *testing.T) {
		k := newKeySet()
		vals := []string{"", "alice", "ALICE", "alic", "alicee", "0f8fad5b-d9cb-469f-a165-70867728950e",
			"0F8FAD5B-D9CB-469F-A165-70867728950E", "0f8fad5b-d9cb-469f-a165-70867728950f", "0f8fad5bxd9cb-469f-a165-70867728950e"}
		for _, v := range vals {
			if !k.Add(v) {
				t.Errorf("Add(%q) on first sight = false", v)
			}
		}
		for _, v := range vals {
			if k.Add(v) {
				t.Errorf("Add(%q) on second sight = true", v)
			}
			if !k.Has(v) {
				t.Errorf("Has(%q) = false after Add", v)
			}
		}
		for _, v := range []string{"bob", "al", "0f8fad5b-d9cb-469f-a165-70867728950d"} {
			if k.Has(v) {
				t.Errorf("Has(%q) = true, never added", v)
			}
		}
		if k.Len() != len(vals) {
			t.Errorf("Len = %d, want %d", k.Len(), len(vals))
		}
	})
	t.Run("HashCollisionKeepsValuesApart", func(t *testing.T) {
		k := newKeySet()
		// Every value hashes alike, as a collision would make two.
		k.hash = func(maphash.Seed, []byte) uint64 { return 7 }
		k.Add("a")
		if k.Has("b") {
			t.Fatal("Has(b) = true before b was added: a collision was taken for a match")
		}
		if !k.Add("b") {
			t.Fatal("Add(b) = false: a collision was taken for a duplicate")
		}
		if k.Add("b") || !k.Has("b") || !k.Has("a") || k.Len() != 2 {
			t.Errorf("after the collision: Add(b) again, Has(b), Has(a), Len = %v %v %v %d", k.Add("b"), k.Has("b"), k.Has("a"), k.Len())
		}
		for i := range 200 {
			k.Add(strconv.Itoa(i))
		}
		if !k.Has("a") || !k.Has("b") || !k.Has("199") || k.Has("200") || k.Len() != 202 {
			t.Errorf("200 more colliding values, through the table's growth: Len = %d", k.Len())
		}
	})
	t.Run("ManyValuesStayExact", func(t *testing.T) {
		k := newKeySet()
		for i := range 20000 {
			if !k.Add("user" + strconv.Itoa(i)) {
				t.Fatalf("Add(user%d) = false", i)
			}
		}
		for i := range 20000 {
			if !k.Has("user"+strconv.Itoa(i)) || k.Has("other"+strconv.Itoa(i)) {
				t.Fatalf("membership of user%d/other%d wrong", i, i)
			}
		}
	})
	t.Run("ValuesAcrossArenaBlocks", func(t *testing.T) {
		k := newKeySet()
		long := strings.Repeat("x", 250)
		n := 3 * keyBlock / 250
		for i := range n {
			if !k.Add(long + strconv.Itoa(i)) {
				t.Fatalf("Add(long%d) = false", i)
			}
		}
		if len(k.arena) < 3 {
			t.Fatalf("%d arena blocks for %d values of 250 bytes, want at least 3", len(k.arena), n)
		}
		for i := range n {
			if !k.Has(long+strconv.Itoa(i)) || k.Add(long+strconv.Itoa(i)) {
				t.Fatalf("long%d not found once added", i)
			}
		}
	})
}

// BenchmarkKeySetUUIDs adds b.N user ids and reports the heap a value
// takes (go test -bench KeySet -benchtime 1000000x).
func BenchmarkKeySetUUIDs(b *testing.B) {
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = fmt.Sprintf("0b0e0c00-0000-4000-8000-%012x", i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	k := newKeySet()
	for _, id := range ids {
		k.Add(id)
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(b.N), "heap-B/value")
	runtime.KeepAlive(k)
	runtime.KeepAlive(ids)
}
