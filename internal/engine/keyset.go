package engine

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math"
)

// keySet is an exact set of strings that costs far less than a
// map[string]struct{}: a run keeps one for every username, stable id and
// user id it sees, and they are what grows with the directory (at
// 1,000,000 entries, three sets of a million values each).
//
// Each value is kept once, as its self-delimiting encoding (encodeKey: 17
// bytes for a UUID), in arena, a list of fixed-size blocks, so that the
// arena never holds more than one block it does not use. slots is an
// open-addressing table of arena offsets (plus one; 0 is empty), found by
// the 64-bit hash of the encoding and probed linearly; a slot matches only
// when the encoding at its offset is the value's, so a collision never
// makes two different values equal. The table is kept at most three
// quarters full: about 8 bytes a value, 25 with a UUID's encoding, where a
// map of hashes to offsets took about 40.
type keySet struct {
	seed  maphash.Seed
	hash  func(seed maphash.Seed, b []byte) uint64
	slots []uint32
	arena [][]byte
	n     int
	buf   []byte
	// more holds values once the arena has passed 4 GiB, which uint32
	// offsets cannot reach (never in practice: 250 million UUIDs).
	more map[string]struct{}
}

// keyBlock is the size of an arena block; no encoding is longer (mapped
// values are at most a few hundred bytes).
const keyBlock = 64 << 10

func newKeySet() *keySet {
	return &keySet{seed: maphash.MakeSeed(), hash: maphash.Bytes, slots: make([]uint32, 64)}
}

// Len is the number of distinct values added.
func (k *keySet) Len() int { return k.n }

// Add adds v and reports whether it was new.
func (k *keySet) Add(v string) bool {
	k.buf = encodeKey(k.buf[:0], v)
	i, found := k.find(k.buf)
	if found {
		return false
	}
	if uint64(len(k.arena)+1)*keyBlock > math.MaxUint32 {
		if _, dup := k.more[v]; dup {
			return false
		}
		if k.more == nil {
			k.more = map[string]struct{}{}
		}
		k.more[v] = struct{}{}
		k.n++
		return true
	}
	k.slots[i] = uint32(k.store(k.buf)) + 1
	k.n++
	if (k.n-len(k.more))*4 > len(k.slots)*3 {
		k.grow()
	}
	return true
}

// Has reports whether v was added.
func (k *keySet) Has(v string) bool {
	k.buf = encodeKey(k.buf[:0], v)
	if _, found := k.find(k.buf); found {
		return true
	}
	_, in := k.more[v]
	return in
}

// find returns the slot of encoding enc: the one that holds it (found), or
// the empty one where it goes.
func (k *keySet) find(enc []byte) (slot int, found bool) {
	mask := len(k.slots) - 1
	for i := int(k.hash(k.seed, enc)) & mask; ; i = (i + 1) & mask {
		off := k.slots[i]
		if off == 0 {
			return i, false
		}
		if bytes.HasPrefix(k.at(uint64(off-1)), enc) {
			return i, true
		}
	}
}

// at is the arena from offset off to the end of its block.
func (k *keySet) at(off uint64) []byte {
	return k.arena[off/keyBlock][off%keyBlock:]
}

// store appends enc to the arena and returns its offset; an encoding that
// would not fit in the last block starts a new one.
func (k *keySet) store(enc []byte) uint64 {
	if n := len(k.arena); n == 0 || len(k.arena[n-1])+len(enc) > keyBlock {
		k.arena = append(k.arena, make([]byte, 0, keyBlock))
	}
	b := len(k.arena) - 1
	off := uint64(b)*keyBlock + uint64(len(k.arena[b]))
	k.arena[b] = append(k.arena[b], enc...)
	return off
}

// grow doubles the table and puts every stored encoding in its new slot.
func (k *keySet) grow() {
	old := k.slots
	k.slots = make([]uint32, 2*len(old))
	for _, off := range old {
		if off != 0 {
			enc := k.at(uint64(off - 1))
			i, _ := k.find(enc[:encodedLen(enc)])
			k.slots[i] = off
		}
	}
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

// encodedLen is the length of the encoding that enc starts with.
func encodedLen(enc []byte) int {
	if enc[0] == 1 {
		return 17
	}
	n, w := binary.Uvarint(enc[1:])
	return 1 + w + int(n)
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
