package engine

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math"
)

// keySet is an exact set of strings that costs far less than a
// map[string]struct{}: a run keeps one for every username, stable id and
// user id it sees, and at 100,000 entries the string maps (and the strings
// they kept alive) were most of the process's memory.
//
// A value is found by its 64-bit hash (seeded per set) in first, which
// points at the value's encoding in arena; a hash hit is confirmed by
// comparing the encodings, so a collision never makes two different values
// equal. Values whose hash is already taken by another value go to more
// (exact, and empty unless a collision happened).
type keySet struct {
	seed  maphash.Seed
	first map[uint64]uint32
	arena []byte
	more  map[string]struct{}
	buf   []byte
	n     int
}

func newKeySet() *keySet {
	return &keySet{seed: maphash.MakeSeed(), first: map[uint64]uint32{}}
}

// Len is the number of distinct values added.
func (k *keySet) Len() int { return k.n }

// Add adds v and reports whether it was new.
func (k *keySet) Add(v string) bool {
	h := maphash.String(k.seed, v)
	k.buf = encodeKey(k.buf[:0], v)
	off, ok := k.first[h]
	switch {
	case !ok && len(k.arena) <= math.MaxUint32:
		k.first[h] = uint32(len(k.arena))
		k.arena = append(k.arena, k.buf...)
	case ok && bytes.HasPrefix(k.arena[off:], k.buf):
		return false
	default:
		if _, dup := k.more[v]; dup {
			return false
		}
		if k.more == nil {
			k.more = map[string]struct{}{}
		}
		k.more[v] = struct{}{}
	}
	k.n++
	return true
}

// Has reports whether v was added.
func (k *keySet) Has(v string) bool {
	if off, ok := k.first[maphash.String(k.seed, v)]; ok {
		k.buf = encodeKey(k.buf[:0], v)
		if bytes.HasPrefix(k.arena[off:], k.buf) {
			return true
		}
	}
	// A collision, or a full arena, puts a value in more alone.
	_, in := k.more[v]
	return in
}

// encodeKey appends v's self-delimiting encoding to dst: a lowercase
// canonical UUID (user ids, most stable ids) as a tag byte and its 16
// bytes, anything else as a tag byte, its length and its bytes. Two values
// have the same encoding only when they are equal, and no encoding is a
// prefix of another's, so a prefix comparison against the arena is exact.
func encodeKey(dst []byte, v string) []byte {
	if u, ok := canonicalUUID(v); ok {
		dst = append(dst, 1)
		return append(dst, u[:]...)
	}
	dst = append(dst, 0)
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	return append(dst, v...)
}

// canonicalUUID parses v only when it is written exactly as
// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx in lowercase hex, so that the 16
// bytes stand for exactly one string.
func canonicalUUID(v string) ([16]byte, bool) {
	var u [16]byte
	if len(v) != 36 || v[8] != '-' || v[13] != '-' || v[18] != '-' || v[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; {
		if v[i] == '-' {
			i++
			continue
		}
		hi, lo := v[i], v[i+1]
		if !lowerHex(hi) || !lowerHex(lo) {
			return u, false
		}
		u[j] = nibble(hi)<<4 | nibble(lo)
		j++
		i += 2
	}
	return u, true
}

func lowerHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

func nibble(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}
