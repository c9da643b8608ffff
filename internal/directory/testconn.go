package directory

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
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

// Report is what Test found: every step in order, what each filter finds,
// and up to SampleSize active entries as they would be mapped.
type Report struct {
	Steps         []Step
	ActiveCount   int
	InactiveCount int
	Filters       []FilterResult // the active filter, then the inactive one, as far as they ran
	Samples       []domain.Person
	SampleErrors  []string // entries among the samples that could not be mapped
	OK            bool
}

// FilterResult is what one filter found. A filter that matches nothing is
// not an error to the directory (a misspelt attribute name matches no
// entry), so Test warns about it instead of failing.
type FilterResult struct {
	Step   string // StepActive or StepInactive
	Filter string
	Count  int
	// Referrals are the continuation references the search returned
	// (Active Directory returns them for DomainDnsZones, ForestDnsZones and
	// Configuration to a search from the domain root). The product reads
	// one directory and never follows them.
	Referrals []string
	Warning   string // why a count of 0 is suspicious; "" when entries match
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

	// What the jobs would search for now: with Active Directory, accounts
	// past accountExpires move from the active to the inactive result.
	activeNow, inactiveNow := s.JobFilters(time.Now())
	start = time.Now()
	active, err := c.testFilter(ctx, StepActive, s.ActiveFilter, activeNow)
	if err != nil {
		add(StepActive, time.Since(start), err.Error(), err)
		return r
	}
	r.ActiveCount = active.Count
	r.Filters = append(r.Filters, active)
	samples, err := c.Sample(ctx, activeNow, s.AttributeMap, SampleSize)
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
	add(StepActive, time.Since(start), active.detail(), nil)

	start = time.Now()
	inactive, err := c.testFilter(ctx, StepInactive, s.InactiveFilter, inactiveNow)
	if err != nil {
		add(StepInactive, time.Since(start), err.Error(), err)
		return r
	}
	r.InactiveCount = inactive.Count
	r.Filters = append(r.Filters, inactive)
	add(StepInactive, time.Since(start), inactive.detail(), nil)
	return r
}

// testFilter checks the configured filter's syntax before anything is
// sent, then counts the entries of the filter the jobs search with now
// (domain.LDAPSettings.JobFilters) and collects the continuation
// references it returns; when nothing matches, it looks for the reason in
// the directory's schema.
func (c *Conn) testFilter(ctx context.Context, step, filter, jobFilter string) (FilterResult, error) {
	res := FilterResult{Step: step, Filter: filter}
	if filter == "" {
		return res, &StepError{Step: StepFilter, Subject: `""`, Err: errors.New("it is empty")}
	}
	compiled, err := ldap.CompileFilter(filter)
	if err != nil {
		return res, &StepError{Step: StepFilter, Subject: filter, Err: err}
	}
	err = c.pages(ctx, jobFilter, []string{"1.1"}, c.pageSize(), &filterSink{res: &res, seen: map[string]bool{}})
	if err != nil {
		return res, err
	}
	if res.Count == 0 {
		res.Warning = c.noMatchWarning(ctx, compiled)
	}
	return res, nil
}

// filterSink counts a filter's entries and collects the references its
// pages return, each once.
type filterSink struct {
	res  *FilterResult
	seen map[string]bool
}

func (f *filterSink) entry(*rawEntry) { f.res.Count++ }

func (f *filterSink) flush(referrals []string) error {
	for _, ref := range referrals {
		if !f.seen[ref] {
			f.seen[ref] = true
			f.res.Referrals = append(f.res.Referrals, ref)
		}
	}
	return nil
}

// detail is the step's line: the count, what was not followed, and the
// warning.
func (f FilterResult) detail() string {
	d := countDetail(f.Count)
	switch n := len(f.Referrals); n {
	case 0:
	case 1:
		d += "; 1 continuation reference not followed"
	default:
		d += fmt.Sprintf("; %d continuation references not followed", n)
	}
	if f.Warning != "" {
		d += ". Warning: " + f.Warning
	}
	return d
}

func countDetail(n int) string {
	if n == 1 {
		return "1 entry matches"
	}
	return fmt.Sprintf("%d entries match", n)
}

// noMatchWarning explains a filter that matched nothing: by the attribute
// names the directory's schema does not know, when it can read the schema,
// else in general terms.
func (c *Conn) noMatchWarning(ctx context.Context, filter *ber.Packet) string {
	const general = "no entry matches. Check the filter's attribute names and values, the base DN and the scope: " +
		"a misspelt attribute name matches nothing and is not an error"
	known, err := c.schemaAttributes(ctx)
	if err != nil || len(known) == 0 {
		return general
	}
	var unknown []string
	for _, a := range filterAttributes(filter) {
		if !known[strings.ToLower(a)] {
			unknown = append(unknown, a)
		}
	}
	switch len(unknown) {
	case 0:
		return general
	case 1:
		return fmt.Sprintf("no entry matches, and the directory's schema has no attribute %s: check its spelling "+
			"(a filter on an unknown attribute matches nothing and is not an error)", unknown[0])
	}
	return fmt.Sprintf("no entry matches, and the directory's schema has no attributes %s: check their spelling "+
		"(a filter on an unknown attribute matches nothing and is not an error)", strings.Join(unknown, ", "))
}

// filterAttributes lists the attribute names a compiled filter tests, in
// order, each once, without options (cn;lang-de is cn) and without OIDs.
func filterAttributes(p *ber.Packet) []string {
	var out []string
	seen := map[string]bool{}
	add := func(v any) {
		name, _ := v.(string)
		name, _, _ = strings.Cut(name, ";")
		if name == "" || (name[0] >= '0' && name[0] <= '9') || seen[strings.ToLower(name)] {
			return
		}
		seen[strings.ToLower(name)] = true
		out = append(out, name)
	}
	var walk func(*ber.Packet)
	walk = func(p *ber.Packet) {
		switch p.Tag {
		case ldap.FilterAnd, ldap.FilterOr, ldap.FilterNot:
			for _, child := range p.Children {
				walk(child)
			}
		case ldap.FilterEqualityMatch, ldap.FilterSubstrings, ldap.FilterGreaterOrEqual, ldap.FilterLessOrEqual, ldap.FilterApproxMatch:
			if len(p.Children) > 0 {
				add(p.Children[0].Value)
			}
		case ldap.FilterPresent:
			add(p.Data.String())
		case ldap.FilterExtensibleMatch:
			for _, child := range p.Children {
				if child.Tag == ldap.MatchingRuleAssertionType {
					add(child.Value)
				}
			}
		}
	}
	walk(p)
	return out
}

// schemaAttributes reads the names of every attribute type in the
// directory's schema (RFC 4512 4.2: the root DSE's subschemaSubentry, then
// its attributeTypes), lower-cased.
func (c *Conn) schemaAttributes(ctx context.Context) (map[string]bool, error) {
	root, err := c.do(ctx, ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1,
		c.timeLimit(), false, "(objectClass=*)", []string{"subschemaSubentry"}, nil))
	if err != nil || len(root.Entries) == 0 {
		return nil, fmt.Errorf("directory: read the root DSE: %w", err)
	}
	dn := root.Entries[0].GetAttributeValue("subschemaSubentry")
	if dn == "" {
		return nil, errors.New("directory: the root DSE names no subschema entry")
	}
	res, err := c.do(ctx, ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1,
		c.timeLimit(), false, "(objectClass=subschema)", []string{"attributeTypes"}, nil))
	if err != nil || len(res.Entries) == 0 {
		return nil, fmt.Errorf("directory: read the schema %s: %w", dn, err)
	}
	known := map[string]bool{}
	for _, def := range res.Entries[0].GetAttributeValues("attributeTypes") {
		for _, name := range attributeTypeNames(def) {
			known[strings.ToLower(name)] = true
		}
	}
	return known, nil
}

// attributeTypeNames reads the NAME of an RFC 4512 AttributeTypeDescription:
// NAME 'cn' or NAME ( 'cn' 'commonName' ).
func attributeTypeNames(def string) []string {
	_, after, ok := strings.Cut(def, " NAME ")
	if !ok {
		return nil
	}
	after = strings.TrimSpace(after)
	if strings.HasPrefix(after, "(") {
		list, _, _ := strings.Cut(after[1:], ")")
		after = list
	} else {
		first, _, _ := strings.Cut(after, " ")
		after = first
	}
	var names []string
	for _, f := range strings.Fields(after) {
		if n := strings.Trim(f, "'"); n != "" {
			names = append(names, n)
		}
	}
	return names
}
