package testenv

import (
	"strings"
	"testing"
	"time"
)

func TestNegativeSerialWait(t *testing.T) {
	// 1796118016 is a multiple of 256: its low byte is 0.
	const base = 1796118016
	tests := []struct {
		name string
		now  time.Time
		want time.Duration
	}{
		{"LowByte00WaitsHalfTheCycle", time.Unix(base, 0), 128 * time.Second},
		{"LowByte7FWaitsTheRestOfTheSecond", time.Unix(base+0x7f, 250_000_000), 750 * time.Millisecond},
		{"LowByte80IsNegative", time.Unix(base+0x80, 0), 0},
		{"LowByteFFIsNegative", time.Unix(base+0xff, 999_000_000), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := negativeSerialWait(tt.now); got != tt.want {
				t.Errorf("negativeSerialWait(%d) = %s, want %s", tt.now.Unix(), got, tt.want)
			}
		})
	}
}

func TestLDIFLine(t *testing.T) {
	tests := []struct{ value, want string }{
		{"User 00001", "cn: User 00001\n"},
		{"Zoë", "cn:: Wm/Dqw==\n"},
		{" leading space", "cn:: IGxlYWRpbmcgc3BhY2U=\n"},
		{":colon", "cn:: OmNvbG9u\n"},
		{"<less", "cn:: PGxlc3M=\n"},
		{"trailing ", "cn:: dHJhaWxpbmcg\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		ldifLine(&b, "cn", tt.value)
		if b.String() != tt.want {
			t.Errorf("ldifLine(%q) = %q, want %q", tt.value, b.String(), tt.want)
		}
	}
}
