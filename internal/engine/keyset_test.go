package engine

import (
	"hash/maphash"
	"strconv"
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
		k.Add("a")
		// Make "b" hash to the slot "a" holds, as a collision would.
		k.first[maphash.String(k.seed, "b")] = k.first[maphash.String(k.seed, "a")]
		if k.Has("b") {
			t.Fatal("Has(b) = true before b was added: a collision was taken for a match")
		}
		if !k.Add("b") {
			t.Fatal("Add(b) = false: a collision was taken for a duplicate")
		}
		if k.Add("b") || !k.Has("b") || !k.Has("a") || k.Len() != 2 {
			t.Errorf("after the collision: Add(b) again, Has(b), Has(a), Len = %v %v %v %d", k.Add("b"), k.Has("b"), k.Has("a"), k.Len())
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
}
