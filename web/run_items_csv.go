package web

import (
	"encoding/csv"
	"net/http"
	"strings"
)

// csvPage is how many items the CSV download reads at a time: a run of a
// large directory is streamed, never held in memory whole.
const csvPage = 500

// handleRunItemsCSV downloads a run's items (those of one outcome when the
// filter is set): one row per user, with a header row.
func (s *Server) handleRunItemsCSV(w http.ResponseWriter, r *http.Request) {
	run, outcome, err := s.runAndOutcome(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := "run-" + safeFileName(run.ID) + "-" + string(run.JobKey)
	if outcome != "" {
		name += "-" + outcome
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"username", "dn", "outcome", "changes", "error", "stable_id"}); err != nil {
		return
	}
	for offset := 0; ; offset += csvPage {
		items, _, err := s.deps.Store.ListRunItems(r.Context(), run.ID, outcome, offset, csvPage)
		if err != nil {
			// The status is sent already: the download ends short, and the
			// log says why.
			s.log.Error("run items csv", "run", run.ID, "offset", offset, "err", err)
			cw.Flush()
			return
		}
		for _, it := range items {
			rec := []string{it.Username, it.DN, it.Outcome, changesText(it.Changes), it.Error, it.DirectoryID}
			for i := range rec {
				rec[i] = csvSafe(rec[i])
			}
			if err := cw.Write(rec); err != nil {
				return // the client went away
			}
		}
		cw.Flush()
		if cw.Error() != nil || len(items) < csvPage {
			return
		}
	}
}

// changesText is a run item's changes on one line: "field: before → after; …".
func changesText(raw string) string {
	var parts []string
	for _, c := range parseChanges(raw) {
		parts = append(parts, c.Field+": "+c.Before+" → "+c.After)
	}
	return strings.Join(parts, "; ")
}

// csvSafe keeps a spreadsheet from reading a cell as a formula (CSV
// injection): a value from the directory could start with = + - @.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// safeFileName keeps letters, digits and dashes, for Content-Disposition.
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return -1
	}, s)
}
