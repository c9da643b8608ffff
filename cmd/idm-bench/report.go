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

// Targets of issue 6, then issue 16's against libldap's read.
const (
	targetFirstRatio    = 2.0  // (b) against the active floor
	targetSecondRatio   = 1.3  // (c) against the active floor, with no row written
	targetInactiveRatio = 3.0  // (d) against the inactive floor
	targetPeakMiB       = 150  // peak RSS of a run at 100,000
	targetGrowth        = 1.5  // peak RSS at the largest size against the smallest
	targetP99Millis     = 50.0 // Batch jobs page while (b) runs at 100,000
	targetRSSSize       = 100000

	targetStreamLibLDAP = 2.0 // the product's read of the active filter against ldapsearch's
	targetSecondLibLDAP = 2.5 // (c) against ldapsearch's read of the active filter
)

// report is the whole benchmark, as printed and as written to JSON.
type report struct {
	Machine      machine       `json:"machine"`
	StartedAt    time.Time     `json:"started_at"`
	TotalSeconds float64       `json:"total_seconds"`
	Sizes        []sizeReport  `json:"sizes"`
	Checks       []targetCheck `json:"checks"`
	Misses       int           `json:"misses"`
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
	Inactive     *measurement `json:"d_inactive"`
	// SecondInactive is the inactive job again with nothing to change.
	SecondInactive *measurement `json:"e_second_inactive"`
	Latency        *measurement `json:"latency_during_b,omitempty"`
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
	// LoadAvg is the one-minute load average when the phase began: on a
	// shared machine, a figure measured under load says so.
	LoadAvg float64 `json:"load_avg_1m"`
	// DataRows are the rows written to users, credentials, certificates,
	// roles, role assignments, run items and audit events.
	DataRows int64 `json:"data_rows_written"`
	// RunRecordRows are the writes of the run's own record (created,
	// progress after each page, finished).
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
	var smallest, largest *sizeReport
	for i := range r.Sizes {
		s := &r.Sizes[i]
		if smallest == nil || s.N < smallest.N {
			smallest = s
		}
		if largest == nil || s.N > largest.N {
			largest = s
		}
		s.libldapRatios()
		if s.StreamActive != nil && s.LibLDAPActive != nil {
			v := s.StreamActive.LibLDAPRatio
			r.add(fmt.Sprintf("N=%d streaming read active / libldap", s.N), v, fmt.Sprintf("≤ %.1f×", targetStreamLibLDAP), v <= targetStreamLibLDAP)
		}
		for _, d := range s.DBs {
			at := fmt.Sprintf("N=%d %s", s.N, d.DB)
			if s.LibLDAPActive != nil {
				v := d.SecondActive.LibLDAPRatio
				r.add(at+" (c) second active / libldap", v, fmt.Sprintf("≤ %.1f×", targetSecondLibLDAP), v <= targetSecondLibLDAP)
			}
			r.add(at+" (b) first active / floor", d.FirstActive.FloorRatio, fmt.Sprintf("≤ %.1f×", targetFirstRatio), d.FirstActive.FloorRatio <= targetFirstRatio)
			r.add(at+" (c) second active / floor", d.SecondActive.FloorRatio, fmt.Sprintf("≤ %.1f×", targetSecondRatio), d.SecondActive.FloorRatio <= targetSecondRatio)
			r.add(at+" (c) data rows written", float64(d.SecondActive.DataRows), "0", d.SecondActive.DataRows == 0)
			r.add(at+" (d) inactive / inactive floor", d.Inactive.FloorRatio, fmt.Sprintf("≤ %.1f×", targetInactiveRatio), d.Inactive.FloorRatio <= targetInactiveRatio)
			if s.N >= targetRSSSize {
				for _, m := range []*measurement{d.FirstActive, d.SecondActive, d.Inactive} {
					r.add(fmt.Sprintf("%s %s peak RSS MiB", at, m.label()), m.PeakRSSMiB, fmt.Sprintf("≤ %d", targetPeakMiB), m.PeakRSSMiB <= targetPeakMiB)
				}
			}
			if d.Latency != nil && d.Latency.Latency != nil {
				l := d.Latency.Latency
				r.add(fmt.Sprintf("%s GET %s p99 ms during (b), %d clients", at, l.Page, l.Clients), l.P99Millis,
					fmt.Sprintf("≤ %.0f", targetP99Millis), l.P99Millis <= targetP99Millis && l.Errors == 0)
			}
		}
	}
	if smallest == nil || smallest == largest {
		return
	}
	for _, d := range largest.DBs {
		for _, s := range smallest.DBs {
			if s.DB != d.DB {
				continue
			}
			pairs := [][2]*measurement{{d.FirstActive, s.FirstActive}, {d.SecondActive, s.SecondActive}, {d.Inactive, s.Inactive}}
			for _, p := range pairs {
				g := p[0].PeakRSSMiB / p[1].PeakRSSMiB
				r.add(fmt.Sprintf("%s %s peak RSS N=%d / N=%d", d.DB, p[0].label(), largest.N, smallest.N), g,
					fmt.Sprintf("≤ %.1f×", targetGrowth), g <= targetGrowth)
			}
		}
	}
}

func (m *measurement) label() string { return m.Phase }

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

// print writes the table of figures and the target checks.
func (r *report) print(out io.Writer) {
	fmt.Fprintf(out, "\nidm-bench %s at %s — %s, %d cores, %d MiB, %s, %s\n\n", r.StartedAt.Format(time.RFC3339), r.Machine.Commit,
		r.Machine.CPU, r.Machine.Cores, r.Machine.MemoryMiB, r.Machine.GoVersion, r.Machine.OS)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "N\tdb\tphase\twall s\tentries\tentries/s\t× floor\t× libldap\tdata rows\trun rows\tpeak RSS MiB\tCPU s\tload\t")
	row := func(n int, db, phase string, m *measurement, floor bool) {
		if m == nil {
			return
		}
		ratio, rows, runRows, lib := "", "", "", ""
		if m.LibLDAPRatio > 0 {
			lib = fmt.Sprintf("%.2f", m.LibLDAPRatio)
		}
		if m.Kind == phaseLatency {
			// The run was the server's: its writes went through the
			// server's store, which the child does not count.
			ratio, rows, runRows = fmt.Sprintf("%.2f", m.FloorRatio), "-", "-"
		} else if !floor {
			ratio = fmt.Sprintf("%.2f", m.FloorRatio)
			rows, runRows = strconv.FormatInt(m.DataRows, 10), strconv.FormatInt(m.RunRecordRows, 10)
		}
		rss := "-" // ldapsearch's own is not measured
		if m.PeakRSSMiB > 0 {
			rss = fmt.Sprintf("%.1f", m.PeakRSSMiB)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%.2f\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t\n", n, db, phase, m.WallSeconds, m.Entries,
			m.EntriesPerSecond, ratio, lib, rows, runRows, rss, m.CPUSeconds, m.LoadAvg)
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
			row(s.N, d.DB, "(d) inactive", d.Inactive, false)
			row(s.N, d.DB, "(e) second inactive", d.SecondInactive, false)
			if d.Latency != nil {
				row(s.N, d.DB, "(b) with page load", d.Latency, false)
			}
		}
	}
	w.Flush()

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
