package directory

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/go-ldap/ldap/v3"

	"idm/internal/domain"
)

// SampleSize is how many active entries a connection test maps and shows.
const SampleSize = 5

// Step is one stage of a connection test. A step after a failed one is not
// run: Skipped is true and OK false.
type Step struct {
	Name     string // one of the Step constants
	OK       bool
	Skipped  bool
	Detail   string // what was found, or exactly what failed
	Duration time.Duration
}

// Report is what Test found: every step in order, how many entries each
// filter finds, and up to SampleSize active entries as they would be mapped.
type Report struct {
	Steps         []Step
	ActiveCount   int
	InactiveCount int
	Samples       []domain.Person
	SampleErrors  []string // entries among the samples that could not be mapped
	OK            bool
}

// StepLabel names a step for people.
func StepLabel(name string) string {
	switch name {
	case StepAddress:
		return "Address"
	case StepTCP:
		return "TCP connection"
	case StepTLS:
		return "TLS"
	case StepBind:
		return "Bind"
	case StepBaseDN:
		return "Base DN"
	case StepActive:
		return "Active filter"
	case StepInactive:
		return "Inactive filter"
	case StepFilter:
		return "Filter syntax"
	case StepSearch:
		return "Search"
	}
	return name
}

// testSteps lists the steps a test of s runs, in order; TLS only when the
// URL asks for it.
func testSteps(s domain.LDAPSettings) []string {
	steps := []string{StepAddress, StepTCP}
	if u, err := url.Parse(s.URL); err == nil && (u.Scheme == "ldaps" || s.StartTLS) {
		steps = append(steps, StepTLS)
	}
	return append(steps, StepBind, StepBaseDN, StepActive, StepInactive)
}

// Test checks the settings step by step, as the LDAP connection page's Test
// connection button does: address, TCP, TLS (when used), bind, base DN, and
// each filter (its syntax, then a paged count). It stops at the first
// failing step. The report never holds the bind password.
func Test(ctx context.Context, s domain.LDAPSettings, bindPassword string) (r Report) {
	add := func(name string, took time.Duration, detail string, err error) {
		r.Steps = append(r.Steps, Step{Name: name, OK: err == nil, Detail: detail, Duration: took})
	}
	defer func() {
		r.OK = true
		for _, st := range r.Steps {
			r.OK = r.OK && st.OK
		}
		done := map[string]bool{}
		for _, st := range r.Steps {
			done[st.Name] = true
		}
		for _, name := range testSteps(s) {
			if !done[name] {
				r.Steps = append(r.Steps, Step{Name: name, Skipped: true, Detail: "Not run: an earlier step failed"})
				r.OK = false
			}
		}
	}()

	c, err := dial(ctx, s, bindPassword, add)
	if err != nil {
		return r
	}
	defer c.Close()

	start := time.Now()
	if err := c.ReadBase(ctx); err != nil {
		add(StepBaseDN, time.Since(start), err.Error(), err)
		return r
	}
	add(StepBaseDN, time.Since(start), "Found "+s.BaseDN, nil)

	start = time.Now()
	n, err := c.testFilter(ctx, s.ActiveFilter)
	if err != nil {
		add(StepActive, time.Since(start), err.Error(), err)
		return r
	}
	r.ActiveCount = n
	samples, err := c.Sample(ctx, s.ActiveFilter, s.AttributeMap, SampleSize)
	if err != nil {
		add(StepActive, time.Since(start), "Reading sample entries failed: "+err.Error(), err)
		return r
	}
	for _, e := range samples {
		if e.Err != nil {
			r.SampleErrors = append(r.SampleErrors, fmt.Sprintf("%s: %s", e.DN, domain.ErrorMessage(e.Err)))
			continue
		}
		r.Samples = append(r.Samples, e.Person)
	}
	add(StepActive, time.Since(start), countDetail(n), nil)

	start = time.Now()
	n, err = c.testFilter(ctx, s.InactiveFilter)
	if err != nil {
		add(StepInactive, time.Since(start), err.Error(), err)
		return r
	}
	r.InactiveCount = n
	add(StepInactive, time.Since(start), countDetail(n), nil)
	return r
}

// testFilter checks a filter's syntax before anything is sent, then counts.
func (c *Conn) testFilter(ctx context.Context, filter string) (int, error) {
	if filter == "" {
		return 0, &StepError{Step: StepFilter, Subject: `""`, Err: errors.New("it is empty")}
	}
	if _, err := ldap.CompileFilter(filter); err != nil {
		return 0, &StepError{Step: StepFilter, Subject: filter, Err: err}
	}
	return c.Count(ctx, filter)
}

func countDetail(n int) string {
	if n == 1 {
		return "1 entry matches"
	}
	return fmt.Sprintf("%d entries match", n)
}
