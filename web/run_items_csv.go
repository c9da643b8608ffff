package web

import (
	"encoding/csv"
	"net/http"
	"strings"
)

// csvPage is how many items the CSV download reads at a time: a run of a
// large directory is streamed, never held in memory whole.
const csvPage = 500

// handleRunItemsCSV downloads a run's items (those the run page's filters
// keep, when set): one row per user, with a header row.
func (s *Server) handleRunItemsCSV(w http.ResponseWriter, r *http.Request) {
	run, filter, err := s.runAndFilter(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := "run-" + safeFileName(run.ID) + "-" + string(run.JobKey)
	if filter.Outcome != "" {
		name += "-" + filter.Outcome
	}
	s.streamCSV(w, r, name, []string{"username", "dn", "outcome", "changes", "error", "stable_id"}, func(offset int) ([][]string, error) {
		items, _, err := s.deps.Store.FindRunItems(r.Context(), run.ID, filter, offset, csvPage)
		rows := make([][]string, len(items))
		for i, it := range items {
			rows[i] = csvRecord(it.Username, it.DN, it.Outcome, changesText(it.Changes), it.Error, it.DirectoryID)
		}
		return rows, err
	})
}

// streamCSV downloads name.csv: the header, then the rows page gives from
// each offset, csvPage at a time, until a page comes back short. The rows
// are never all in memory.
func (s *Server) streamCSV(w http.ResponseWriter, r *http.Request, name string, header []string, page func(offset int) ([][]string, error)) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return
	}
	for offset := 0; ; offset += csvPage {
		rows, err := page(offset)
		if err != nil {
			// The status is sent already: the download ends short, and the
			// log says why.
			s.log.Error("csv download", "path", r.URL.Path, "offset", offset, "err", err)
			cw.Flush()
			return
		}
		if err := cw.WriteAll(rows); err != nil || len(rows) < csvPage {
			return // WriteAll flushes; an error means the client went away
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

// csvRecord is one CSV row, every cell guarded by csvSafe.
func csvRecord(cells ...string) []string {
	for i := range cells {
		cells[i] = csvSafe(cells[i])
	}
	return cells
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
