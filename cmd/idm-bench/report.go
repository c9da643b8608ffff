package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets of issues 6 and 13, and issue 16's against libldap's read.
const (
	targetFirstRatioPG     = 1.5  // (b) against the active floor, PostgreSQL
	targetFirstRatioSQLite = 2.0  // (b) against the active floor, SQLite
	targetSecondRatio      = 1.3  // (c) against the active floor, with no data row written
	targetInactiveRatio    = 1.5  // (d) against its composite floor (read + set-based SQL)
	targetSteadyRatio      = 1.5  // (e) against the inactive floor, with no data row written
	targetImportPG         = 5000 // (f) users a second, PostgreSQL
	targetImportSQLite     = 2000 // (f) users a second, SQLite
	targetPeakMiB          = 150  // peak RSS of a run at 100,000
	targetPeakMiBMillion   = 300  // peak RSS of (b) and (c) at 1,000,000
	targetGrowth           = 1.5  // peak RSS at 100,000 against 10,000
	targetImportGrowth     = 1.2  // (f)'s peak RSS at the largest size against the smallest: flat
	targetP99Millis        = 50.0 // Batch jobs page while (b) runs at 100,000
	targetRSSSize          = 100000
	targetMillion          = 1000000

	targetStreamLibLDAP = 2.0 // the product's read of the active filter against ldapsearch's
	targetSecondLibLDAP = 2.5 // (c) against ldapsearch's read of the active filter
)

// report is the whole benchmark, as printed and as written to JSON.
type report struct {
	Machine   machine   `json:"machine"`
	StartedAt time.Time `json:"started_at"`
	// InactiveShare is the share of the directory that is locked.
	InactiveShare float64       `json:"inactive_share"`
	TotalSeconds  float64       `json:"total_seconds"`
	Sizes         []sizeReport  `json:"sizes"`
	Checks        []targetCheck `json:"checks"`
	Misses        int           `json:"misses"`
}

type machine struct {
	// Commit is the source measured (git describe --always --dirty).
	Commit    string `json:"commit"`
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	MemoryMiB int    `json:"memory_mib"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
}

type sizeReport struct {
	N     int `json:"n"`
	Setup struct {
		LDIFSeconds    float64 `json:"ldif_seconds"`
		SlapaddSeconds float64 `json:"slapadd_and_start_seconds"`
	} `json:"setup"`
	FloorActive   *measurement `json:"floor_active"`
	FloorInactive *measurement `json:"floor_inactive"`
	// FloorCount is the active filter read for no attributes: what the
	// active job's count pass costs at the least. Not a target, a clue.
	FloorCount *measurement `json:"floor_count"`
	// StreamActive and StreamInactive are the same reads through the
	// product's streaming reader, entries mapped.
	StreamActive   *measurement `json:"floor_stream_active"`
	StreamInactive *measurement `json:"floor_stream_inactive"`
	// LibLDAPActive and LibLDAPInactive are ldapsearch's reads (OpenLDAP's
	// C library) with the same filter, attributes and page size.
	LibLDAPActive   *measurement `json:"floor_libldap_active"`
	LibLDAPInactive *measurement `json:"floor_libldap_inactive"`
	DBs             []dbReport   `json:"databases"`
}

type dbReport struct {
	DB           string       `json:"db"`
	FirstActive  *measurement `json:"b_first_active"`
	SecondActive *measurement `json:"c_second_active"`
	SeedSeconds  float64      `json:"seed_seconds"`
	// DeactivateSQL is the SQL half of (d)'s composite floor; the composite
	// adds the inactive floor's read.
	DeactivateSQL         *measurement `json:"d_floor_sql"`
	CompositeFloorSeconds float64      `json:"d_composite_floor_seconds"`
	Inactive              *measurement `json:"d_inactive"`
	SecondInactive        *measurement `json:"e_second_inactive"`
	Import                *measurement `json:"f_import"`
	Latency               *measurement `json:"latency_during_b,omitempty"`
}

// measurement is a phase as the parent saw it.
type measurement struct {
	phaseResult
	Phase            string  `json:"phase"`
	EntriesPerSecond float64 `json:"entries_per_second"`
	FloorRatio       float64 `json:"floor_ratio,omitempty"`
	// LibLDAPRatio is the wall time against ldapsearch's read of the same
	// filter.
	LibLDAPRatio float64 `json:"libldap_ratio,omitempty"`
	PeakRSSMiB   float64 `json:"peak_rss_mib"`
	CPUSeconds   float64 `json:"cpu_seconds"`
	// DBServerCPUSeconds is the CPU time the PostgreSQL server used during
	// the phase (its backends and background processes); SQLite's is in
	// CPUSeconds. DirectoryCPUSeconds is slapd's. On a shared machine
	// these say more than the wall time.
	DBServerCPUSeconds  float64 `json:"db_server_cpu_seconds,omitempty"`
	DirectoryCPUSeconds float64 `json:"directory_cpu_seconds"`
	// LoadAvg is the one-minute load average when the phase began: on a
	// shared machine, a figure measured under load says so.
	LoadAvg float64 `json:"load_avg_1m"`
	// DataRows are the rows written to users, credentials, certificates,
	// roles, role assignments and run items.
	DataRows      int64   `json:"data_rows_written"`
	RowsPerSecond float64 `json:"data_rows_per_second"`
	// RunRecordRows are the writes of the run's own record (created,
	// progress after each page, finished) and of its start's audit event.
	RunRecordRows int64 `json:"run_record_rows_written"`
	// PGTableWrites is PostgreSQL's own count (pg_stat_user_tables) of rows
	// inserted, updated and deleted per table during the phase.
	PGTableWrites map[string]int64 `json:"pg_table_writes,omitempty"`
}

type targetCheck struct {
	What   string  `json:"what"`
	Value  float64 `json:"value"`
	Target string  `json:"target"`
	OK     bool    `json:"ok"`
}

func (r *report) add(what string, value float64, target string, ok bool) {
	r.Checks = append(r.Checks, targetCheck{What: what, Value: value, Target: target, OK: ok})
	if !ok {
		r.Misses++
	}
}

// check compares every figure with its target.
func (r *report) check() {
	r.Checks, r.Misses = nil, 0
	for i := range r.Sizes {
		s := &r.Sizes[i]
		r.checkLibLDAP(s)
		for _, d := range s.DBs {
			r.checkSpeed(s.N, d)
			r.checkMemory(s.N, d)
		}
	}
	r.checkGrowth()
}

// checkLibLDAP sets the ratios to ldapsearch's reads and checks the
// product's read and (c) against them.
func (r *report) checkLibLDAP(s *sizeReport) {
	s.libldapRatios()
	if s.LibLDAPActive == nil {
		return
	}
	if s.StreamActive != nil {
		v := s.StreamActive.LibLDAPRatio
		r.add(fmt.Sprintf("N=%d streaming read active / libldap", s.N), v, fmt.Sprintf("≤ %.1f×", targetStreamLibLDAP), v <= targetStreamLibLDAP)
	}
	for _, d := range s.DBs {
		if d.SecondActive != nil {
			v := d.SecondActive.LibLDAPRatio
			r.add(fmt.Sprintf("N=%d %s (c) second active / libldap", s.N, d.DB), v, fmt.Sprintf("≤ %.1f×", targetSecondLibLDAP), v <= targetSecondLibLDAP)
		}
	}
}

// libldapRatios sets each active read's and run's ratio to ldapsearch's
// read of the active filter, and each inactive one's to the inactive.
func (s *sizeReport) libldapRatios() {
	set := func(floor *measurement, ms ...*measurement) {
		for _, m := range ms {
			if m != nil && floor != nil && floor.WallSeconds > 0 {
				m.LibLDAPRatio = m.WallSeconds / floor.WallSeconds
			}
		}
	}
	set(s.LibLDAPActive, s.FloorActive, s.StreamActive, s.FloorCount)
	set(s.LibLDAPInactive, s.FloorInactive, s.StreamInactive)
	for _, d := range s.DBs {
		set(s.LibLDAPActive, d.FirstActive, d.SecondActive, d.Latency)
		set(s.LibLDAPInactive, d.Inactive, d.SecondInactive)
	}
}

// checkSpeed checks the phases of one size on one database against their
// floors, the rows they must not write, and the import's rate.
func (r *report) checkSpeed(n int, d dbReport) {
	at := fmt.Sprintf("N=%d %s", n, d.DB)
	first := targetFirstRatioPG
	importRate := float64(targetImportPG)
	if d.DB == "sqlite" {
		first, importRate = targetFirstRatioSQLite, targetImportSQLite
	}
	ratio := func(what string, m *measurement, target float64) {
		if m != nil {
			r.add(at+" "+what, m.FloorRatio, fmt.Sprintf("≤ %.1f×", target), m.FloorRatio <= target)
		}
	}
	noRows := func(what string, m *measurement) {
		if m != nil {
			r.add(at+" "+what+" data rows written", float64(m.DataRows), "0", m.DataRows == 0)
		}
	}
	ratio("(b) first active / floor", d.FirstActive, first)
	ratio("(c) second active / floor", d.SecondActive, targetSecondRatio)
	noRows("(c)", d.SecondActive)
	ratio("(d) inactive / composite floor", d.Inactive, targetInactiveRatio)
	ratio("(e) second inactive / inactive floor", d.SecondInactive, targetSteadyRatio)
	noRows("(e)", d.SecondInactive)
	if d.Import != nil {
		r.add(at+" (f) import users/s", d.Import.EntriesPerSecond, fmt.Sprintf("≥ %.0f", importRate), d.Import.EntriesPerSecond >= importRate)
	}
	if d.Latency != nil && d.Latency.Latency != nil {
		l := d.Latency.Latency
		r.add(fmt.Sprintf("%s GET %s p99 ms during (b), %d clients", at, l.Page, l.Clients), l.P99Millis,
			fmt.Sprintf("≤ %.0f", targetP99Millis), l.P99Millis <= targetP99Millis && l.Errors == 0)
	}
}

// checkMemory checks the peaks at 100,000 and 1,000,000.
func (r *report) checkMemory(n int, d dbReport) {
	at := fmt.Sprintf("N=%d %s", n, d.DB)
	peak := func(ms []*measurement, limit float64) {
		for _, m := range ms {
			if m == nil {
				continue
			}
			r.add(fmt.Sprintf("%s %s peak RSS MiB", at, m.label()), m.PeakRSSMiB, fmt.Sprintf("≤ %.0f", limit), m.PeakRSSMiB <= limit)
		}
	}
	switch n {
	case targetRSSSize:
		peak([]*measurement{d.FirstActive, d.SecondActive, d.Inactive, d.SecondInactive}, targetPeakMiB)
	case targetMillion:
		peak([]*measurement{d.FirstActive, d.SecondActive}, targetPeakMiBMillion)
	}
}

// checkGrowth compares the peaks at 100,000 (or the largest size below)
// with those at the smallest size, and the import's at the largest.
func (r *report) checkGrowth() {
	var smallest, upTo, largest *sizeReport
	for i := range r.Sizes {
		s := &r.Sizes[i]
		if smallest == nil || s.N < smallest.N {
			smallest = s
		}
		if largest == nil || s.N > largest.N {
			largest = s
		}
		if s.N <= targetRSSSize && (upTo == nil || s.N > upTo.N) {
			upTo = s
		}
	}
	if smallest == nil || smallest == largest {
		return
	}
	for _, s := range smallest.DBs {
		if upTo != nil && upTo != smallest {
			if d := upTo.db(s.DB); d != nil {
				pairs := [][2]*measurement{{d.FirstActive, s.FirstActive}, {d.SecondActive, s.SecondActive}, {d.Inactive, s.Inactive}, {d.SecondInactive, s.SecondInactive}}
				for _, p := range pairs {
					r.growth(s.DB, p, upTo.N, smallest.N, targetGrowth)
				}
			}
		}
		if d := largest.db(s.DB); d != nil {
			r.growth(s.DB, [2]*measurement{d.Import, s.Import}, largest.N, smallest.N, targetImportGrowth)
		}
	}
}

func (r *report) growth(db string, p [2]*measurement, big, small int, target float64) {
	if p[0] == nil || p[1] == nil {
		return
	}
	g := p[0].PeakRSSMiB / p[1].PeakRSSMiB
	r.add(fmt.Sprintf("%s %s peak RSS N=%d / N=%d", db, p[0].label(), big, small), g, fmt.Sprintf("≤ %.1f×", target), g <= target)
}

func (s *sizeReport) db(name string) *dbReport {
	for i := range s.DBs {
		if s.DBs[i].DB == name {
			return &s.DBs[i]
		}
	}
	return nil
}

func (m *measurement) label() string { return m.Phase }

// print writes the table of figures and the target checks.
func (r *report) print(out io.Writer) {
	fmt.Fprintf(out, "\nidm-bench %s at %s — %s, %d cores, %d MiB, %s, %s; inactive share %.3g\n\n", r.StartedAt.Format(time.RFC3339), r.Machine.Commit,
		r.Machine.CPU, r.Machine.Cores, r.Machine.MemoryMiB, r.Machine.GoVersion, r.Machine.OS, r.InactiveShare)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "N\tdb\tphase\twall s\tentries\tentries/s\t× floor\t× libldap\tdata rows\trows/s\trun rows\tpeak RSS MiB\tCPU s\tdb CPU s\tldap CPU s\tload\t")
	row := func(n int, db, phase string, m *measurement, floor bool) {
		if m == nil {
			return
		}
		ratio, rows, rate, runRows, lib := "", "", "", "", ""
		if m.LibLDAPRatio > 0 {
			lib = fmt.Sprintf("%.2f", m.LibLDAPRatio)
		}
		switch {
		case m.Kind == phaseLatency:
			// The run was the server's: its writes went through the
			// server's store, which the child does not count.
			ratio, rows, rate, runRows = fmt.Sprintf("%.2f", m.FloorRatio), "-", "-", "-"
		case m.Kind == phaseFloorDeactivate || m.Kind == phaseImport:
			rows, rate = strconv.FormatInt(m.DataRows, 10), fmt.Sprintf("%.0f", m.RowsPerSecond)
		case !floor:
			ratio = fmt.Sprintf("%.2f", m.FloorRatio)
			rows, rate, runRows = strconv.FormatInt(m.DataRows, 10), fmt.Sprintf("%.0f", m.RowsPerSecond), strconv.FormatInt(m.RunRecordRows, 10)
		}
		rss := "-" // ldapsearch's own is not measured
		if m.PeakRSSMiB > 0 {
			rss = fmt.Sprintf("%.1f", m.PeakRSSMiB)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%.2f\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t\n", n, db, phase, m.WallSeconds, m.Entries,
			m.EntriesPerSecond, ratio, lib, rows, rate, runRows, rss, m.CPUSeconds, m.DBServerCPUSeconds, m.DirectoryCPUSeconds, m.LoadAvg)
	}
	for _, s := range r.Sizes {
		row(s.N, "-", "(a) floor active", s.FloorActive, true)
		row(s.N, "-", "(a) floor inactive", s.FloorInactive, true)
		row(s.N, "-", "count only (1.1)", s.FloorCount, true)
		row(s.N, "-", "streaming read active", s.StreamActive, true)
		row(s.N, "-", "streaming read inactive", s.StreamInactive, true)
		row(s.N, "-", "libldap active", s.LibLDAPActive, true)
		row(s.N, "-", "libldap inactive", s.LibLDAPInactive, true)
		for _, d := range s.DBs {
			row(s.N, d.DB, "(b) first active", d.FirstActive, false)
			row(s.N, d.DB, "(c) second active", d.SecondActive, false)
			row(s.N, d.DB, "(d) floor: SQL only", d.DeactivateSQL, false)
			row(s.N, d.DB, "(d) inactive", d.Inactive, false)
			row(s.N, d.DB, "(e) second inactive", d.SecondInactive, false)
			row(s.N, d.DB, "(f) import", d.Import, false)
			if d.Latency != nil {
				row(s.N, d.DB, "(b) with page load", d.Latency, false)
			}
		}
	}
	w.Flush()
	r.printNotes(out)

	fmt.Fprintln(out, "\nTargets:")
	w = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, c := range r.Checks {
		mark := "ok"
		if !c.OK {
			mark = "MISS"
		}
		fmt.Fprintf(w, "  %s\t%.2f\t%s\t%s\n", c.What, c.Value, c.Target, mark)
	}
	w.Flush()
	fmt.Fprintf(out, "\n%d of %d targets missed; total time %.0fs\n", r.Misses, len(r.Checks), r.TotalSeconds)
}

// printNotes writes what the table has no room for: each composite floor
// and each latency measurement.
func (r *report) printNotes(out io.Writer) {
	fmt.Fprintln(out)
	for _, s := range r.Sizes {
		for _, d := range s.DBs {
			if d.DeactivateSQL == nil {
				continue
			}
			fmt.Fprintf(out, "N=%d %s: (d)'s composite floor %.2fs = the inactive filter's read %.2fs + the set-based SQL %.2fs\n",
				s.N, d.DB, d.CompositeFloorSeconds, s.FloorInactive.WallSeconds, d.DeactivateSQL.WallSeconds)
		}
	}
	for _, s := range r.Sizes {
		for _, d := range s.DBs {
			if d.Latency == nil || d.Latency.Latency == nil {
				continue
			}
			l := d.Latency.Latency
			fmt.Fprintf(out, "\nN=%d %s: GET %s by %d signed-in operators (pause %.0f ms) during (b): %d requests, p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms, errors %d; the run took %.1fs\n",
				s.N, d.DB, l.Page, l.Clients, l.ThinkMillis, l.Requests, l.P50Millis, l.P90Millis, l.P99Millis, l.MaxMillis, l.Errors, l.RunSeconds)
			if l.FirstError != "" {
				fmt.Fprintf(out, "  first error: %s\n", l.FirstError)
			}
		}
	}
}

// describeMachine names the CPU, cores, memory and Go version.
func describeMachine() machine {
	m := machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if out, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
				m.MemoryMiB = kb / 1024
				break
			}
		}
		f.Close()
	}
	return m
}

// loadAvg is the one-minute load average, 0 when unknown.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b) + " 0")[0], 64)
	return f
}
