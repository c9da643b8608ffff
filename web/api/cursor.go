package api

import (
	"encoding/base64"
	"encoding/json"

	"idm/internal/domain"
)

// A cursor is opaque to clients: base64url of the listing it belongs to (the
// run and the outcome filter) and the last item's seq. The next page is the
// items after that seq (keyset paging): items written meanwhile by a run in
// progress come later, and none is skipped or shown twice.
type cursor struct {
	Run     string `json:"r"`
	Outcome string `json:"o,omitempty"`
	After   int    `json:"a"`
}

func makeCursor(runID, outcome string, after int) string {
	b, _ := json.Marshal(cursor{Run: runID, Outcome: outcome, After: after}) // strings and an int always marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

// readCursor reads cursor c of the listing of run runID with outcome: the
// seq after which the page starts (0 without a cursor). A cursor this API
// did not make, or made for another listing, is refused at the field.
func readCursor(c, runID, outcome string) (int, error) {
	if c == "" {
		return 0, nil
	}
	const again = "Start again without a cursor, and pass next_cursor as it came."
	b, err := base64.RawURLEncoding.DecodeString(c)
	var cur cursor
	if err != nil || json.Unmarshal(b, &cur) != nil || cur.After < 0 {
		return 0, domain.Invalid("cursor", "This is not a cursor this API gave. %s", again)
	}
	if cur.Run != runID || cur.Outcome != outcome {
		return 0, domain.Invalid("cursor", "This cursor belongs to another listing (another run or outcome filter). %s", again)
	}
	return cur.After, nil
}
