package store

import (
	"database/sql"
	"reflect"
	"testing"
	"time"
)

// TestPutFor: the COPY encoder writes only the Go and column types it
// knows, and leaves everything else (a Valuer, a float, a string into a
// timestamp column) to pgx.
func TestPutFor(t *testing.T) {
	type state string
	for _, tc := range []struct {
		name  string
		typ   reflect.Type
		oid   uint32
		known bool
	}{
		{"StringIntoVarchar", reflect.TypeFor[string](), oidVarchar, true},
		{"NamedStringIntoText", reflect.TypeFor[state](), oidText, true},
		{"PointerToStringIntoBPChar", reflect.TypeFor[*string](), oidBPChar, true},
		{"TimeIntoTimestamp", reflect.TypeFor[time.Time](), oidTimestamp, true},
		{"PointerToTimeIntoTimestamptz", reflect.TypeFor[*time.Time](), oidTimestamptz, true},
		{"IntIntoInteger", reflect.TypeFor[int](), oidInt4, true},
		{"Int64IntoBigint", reflect.TypeFor[int64](), oidInt8, true},
		{"BoolIntoBoolean", reflect.TypeFor[bool](), oidBool, true},
		{"StringIntoTimestamp", reflect.TypeFor[string](), oidTimestamp, false},
		{"TimeIntoText", reflect.TypeFor[time.Time](), oidText, false},
		{"IntIntoText", reflect.TypeFor[int](), oidText, false},
		{"IntIntoNumeric", reflect.TypeFor[int](), 1700, false},
		{"Float", reflect.TypeFor[float64](), 701, false},
		{"Valuer", reflect.TypeFor[sql.NullString](), oidText, false},
		{"PointerToValuer", reflect.TypeFor[*sql.NullTime](), oidTimestamp, false},
		{"Bytes", reflect.TypeFor[[]byte](), 17, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := putFor(tc.typ, tc.oid) != nil; got != tc.known {
				t.Errorf("putFor(%v, %d) known %v, want %v", tc.typ, tc.oid, got, tc.known)
			}
		})
	}
}

// TestPGMicroseconds: a time is stored as microseconds since 2000-01-01,
// truncated below the microsecond; into a timestamp column by its wall
// clock wherever it is (as pgx writes it), into timestamptz by its instant.
func TestPGMicroseconds(t *testing.T) {
	plus2 := time.FixedZone("UTC+2", 2*3600)
	for _, tc := range []struct {
		name string
		at   time.Time
		oid  uint32
		want int64
	}{
		{"Epoch", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), oidTimestamp, 0},
		{"NanosecondsTruncated", time.Date(2000, 1, 1, 0, 0, 1, 1999, time.UTC), oidTimestamp, 1_000_001},
		{"Before2000", time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC), oidTimestamp, -1_000_000},
		{"Before1970", time.Date(1969, 12, 31, 23, 59, 59, 999_999_000, time.UTC), oidTimestamp, -946_684_800_000_001},
		{"WallClockForTimestamp", time.Date(2000, 1, 1, 2, 0, 0, 0, plus2), oidTimestamp, 2 * 3600 * 1_000_000},
		{"InstantForTimestamptz", time.Date(2000, 1, 1, 2, 0, 0, 0, plus2), oidTimestamptz, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pgMicroseconds(tc.at, tc.oid); got != tc.want {
				t.Errorf("pgMicroseconds(%v, %d) = %d, want %d", tc.at, tc.oid, got, tc.want)
			}
		})
	}
}
