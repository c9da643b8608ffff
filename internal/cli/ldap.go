package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"idm/internal/directory"
	"idm/internal/domain"
	"idm/internal/store"
)

const ldapUsage = `Usage:
  idm ldap show [--json]
  idm ldap configure [--preset active_directory|openldap] [--url URL] [--start-tls] [--ca-cert-file FILE]
                     [--bind-dn DN] [--bind-password-file FILE|- | --clear-bind-password] [--base-dn DN] [--scope sub|one|base]
                     [--active-filter F] [--inactive-filter F] [--map field=attribute]... [--page-size N]
                     [--connect-timeout S] [--search-timeout S] [--deactivate-max-users N]
                     [--deactivate-max-percent P] [--shrink-max-percent P] [--insecure-skip-verify]
  idm ldap test
  idm ldap allow-next-run      let the next inactive run pass the deactivation limit once

configure changes only what its flags name (a preset first, then the other flags), and
refuses what the Admin form refuses, with the same messages. The bind password is read
from a file (or - for standard input), never from a flag, and never shown; a changed
server, TLS setting or bind DN needs it again (or --clear-bind-password).`

// repeated collects a flag given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func runLDAP(ctx context.Context, io IO, args []string) error {
	return runAction(ctx, io, args, "ldap", ldapUsage, "an action", map[string]actionFunc{
		"show": ldapShow, "configure": ldapConfigure, "test": ldapTest, "allow-next-run": ldapAllowNextRun,
	})
}

func ldapShow(ctx context.Context, io IO, args []string) error {
	st := newSetup("ldap show", io)
	asJSON := st.fs.Bool("json", false, "print the settings as JSON (without the password)")
	return st.parseWithStore(ctx, args, func(db *store.DB) error {
		s, err := db.LDAPSettings(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(io.Stdout, ldapView(&s))
		}
		printLDAP(io.Stdout, &s)
		return nil
	})
}

// ldapView is the settings as shown: everything but the password, and
// whether one is set.
func ldapView(s *domain.LDAPSettings) map[string]any {
	return map[string]any{
		"url": s.URL, "start_tls": s.StartTLS, "ca_cert_set": s.CACert != "", "insecure_skip_verify": s.InsecureSkipVerify,
		"bind_dn": s.BindDN, "bind_password_set": s.BindPasswordEnc != "", "base_dn": s.BaseDN, "scope": s.Scope,
		"active_filter": s.ActiveFilter, "inactive_filter": s.InactiveFilter, "page_size": s.PageSize,
		"connect_timeout_seconds": s.ConnectTimeoutSeconds, "search_timeout_seconds": s.SearchTimeoutSeconds,
		"preset": s.Preset, "attribute_map": s.AttributeMap, "deactivate_max_users": s.DeactivateMaxUsers,
		"deactivate_max_percent": s.DeactivateMaxPercent, "shrink_max_percent": s.ShrinkMaxPercent,
		"allow_next_past_threshold": s.AllowNextPastThreshold, "version": s.Version,
		"updated_at": s.UpdatedAt, "updated_by": s.UpdatedBy,
	}
}

func printLDAP(w io.Writer, s *domain.LDAPSettings) {
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	pw := "not set"
	if s.BindPasswordEnc != "" {
		pw = "set (hidden)"
	}
	ca := "none (system roots)"
	if s.CACert != "" {
		ca = "set"
	}
	if s.Version == 0 {
		fmt.Fprintln(w, "The LDAP connection was never saved; these are the defaults.")
	}
	rows := [][2]string{
		{"URL", s.URL}, {"StartTLS", yes(s.StartTLS)}, {"CA certificate", ca}, {"Skip TLS verification", yes(s.InsecureSkipVerify)},
		{"Bind DN", s.BindDN}, {"Bind password", pw}, {"Base DN", s.BaseDN}, {"Scope", s.Scope},
		{"Active filter", s.ActiveFilter}, {"Inactive filter", s.InactiveFilter},
		{"Page size", fmt.Sprint(s.PageSize)}, {"Connect timeout", fmt.Sprintf("%ds", s.ConnectTimeoutSeconds)},
		{"Search timeout", fmt.Sprintf("%ds", s.SearchTimeoutSeconds)}, {"Preset", s.Preset},
		{"Deactivation limit", fmt.Sprintf("%d users or %d%% of the active users, whichever is lower", s.DeactivateMaxUsers, s.DeactivateMaxPercent)},
		{"Next run may pass it", yes(s.AllowNextPastThreshold)},
		{"Shrink limit", fmt.Sprintf("%d%%", s.ShrinkMaxPercent)},
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%-22s %s\n", r[0]+":", r[1])
	}
	fmt.Fprintln(w, "Attribute mapping:")
	for _, f := range s.AttributeMap.Fields() {
		fmt.Fprintf(w, "  %-20s %s\n", f[0]+":", f[1])
	}
	if s.InsecureSkipVerify {
		fmt.Fprintln(w, "WARNING: TLS certificate verification is off: anyone between this server and the directory can read the bind password.")
	}
	if s.Version > 0 {
		fmt.Fprintf(w, "Version %d, saved %s by %s\n", s.Version, s.UpdatedAt.Format("2006-01-02 15:04:05 MST"), s.UpdatedBy)
	}
}

// ldapConfigureFlags are the flags of idm ldap configure: the settings they
// name, the files to read, and which flags were given.
type ldapConfigureFlags struct {
	in                     domain.LDAPSettings
	preset, caFile, pwFile string
	clearPassword          bool
	maps                   repeated
	set                    map[string]bool
}

func parseLDAPConfigure(io IO, args []string) (*ldapConfigureFlags, *setup, error) {
	f := &ldapConfigureFlags{set: map[string]bool{}}
	in := &f.in
	st := newSetup("ldap configure", io)
	fs := st.fs
	fs.StringVar(&f.preset, "preset", "", "active_directory or openldap: sets the filters and the attribute mapping")
	fs.StringVar(&in.URL, "url", "", "ldap://host:389 or ldaps://host:636")
	fs.BoolVar(&in.StartTLS, "start-tls", false, "upgrade an ldap:// connection with StartTLS")
	fs.StringVar(&f.caFile, "ca-cert-file", "", "PEM file with the CA certificate(s) that signed the directory's certificate")
	fs.BoolVar(&in.InsecureSkipVerify, "insecure-skip-verify", false, "do not verify the directory's TLS certificate (unsafe; for tests only)")
	fs.StringVar(&in.BindDN, "bind-dn", "", "DN to bind as")
	fs.StringVar(&f.pwFile, "bind-password-file", "", "file holding the bind password (first line), or - for standard input")
	fs.BoolVar(&f.clearPassword, "clear-bind-password", false, "remove the stored bind password")
	fs.StringVar(&in.BaseDN, "base-dn", "", "where to search, e.g. dc=example,dc=com")
	fs.StringVar(&in.Scope, "scope", "", "sub, one or base")
	fs.StringVar(&in.ActiveFilter, "active-filter", "", "LDAP filter for the active users")
	fs.StringVar(&in.InactiveFilter, "inactive-filter", "", "LDAP filter for the inactive users")
	fs.Var(&f.maps, "map", "field=attribute, repeatable; fields: username, stable_id, given_name, surname, display_name, email, phone, title, department, employee_number")
	fs.IntVar(&in.PageSize, "page-size", 0, "entries per page of the paged search (1-5000)")
	fs.IntVar(&in.ConnectTimeoutSeconds, "connect-timeout", 0, "connect timeout in seconds")
	fs.IntVar(&in.SearchTimeoutSeconds, "search-timeout", 0, "search timeout in seconds")
	fs.IntVar(&in.DeactivateMaxUsers, "deactivate-max-users", 0, "most users the inactive job may deactivate in one run")
	fs.IntVar(&in.DeactivateMaxPercent, "deactivate-max-percent", 0, "most users the inactive job may deactivate, as a share of the active users")
	fs.IntVar(&in.ShrinkMaxPercent, "shrink-max-percent", 0, "largest drop of the active result against the last successful run")
	if err := st.parse(args); err != nil {
		return nil, nil, err
	}
	if fs.NArg() != 0 {
		return nil, nil, fmt.Errorf("%w: ldap configure takes only flags", ErrUsage)
	}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	return f, st, nil
}

// readFiles reads the CA certificate and the bind password the flags name,
// before the database is touched, so that a wrong path changes nothing.
func (f *ldapConfigureFlags) readFiles(io IO) (caPEM string, pw domain.BindPassword, err error) {
	pw.Clear = f.clearPassword
	if f.set["ca-cert-file"] {
		b, err := os.ReadFile(f.caFile)
		if err != nil {
			return "", pw, fmt.Errorf("ldap configure: CA certificate: %w", err)
		}
		caPEM = domain.CleanCACert(string(b))
	}
	if !f.set["bind-password-file"] {
		return caPEM, pw, nil
	}
	if f.pwFile == "-" {
		pw.New, err = readSecret(io.Stdin)
	} else {
		var b []byte
		b, err = os.ReadFile(f.pwFile)
		pw.New = strings.TrimRight(strings.SplitN(string(b), "\n", 2)[0], "\r")
	}
	if err != nil {
		return "", pw, fmt.Errorf("ldap configure: bind password: %w", err)
	}
	if pw.New == "" {
		return "", pw, fmt.Errorf("ldap configure: the bind password file is empty")
	}
	return caPEM, pw, nil
}

// apply puts what the flags name over s: the preset first, then each flag
// given, then the mapping. An unknown preset is left for the settings'
// rule to refuse, as the form's hidden preset field is.
func (f *ldapConfigureFlags) apply(s *domain.LDAPSettings, caPEM string) error {
	if f.set["preset"] && s.ApplyPreset(f.preset) != nil {
		s.Preset = f.preset
	}
	in := f.in
	apply := map[string]func(){
		"url": func() { s.URL = in.URL }, "start-tls": func() { s.StartTLS = in.StartTLS },
		"ca-cert-file":         func() { s.CACert = caPEM },
		"insecure-skip-verify": func() { s.InsecureSkipVerify = in.InsecureSkipVerify },
		"bind-dn":              func() { s.BindDN = in.BindDN }, "base-dn": func() { s.BaseDN = in.BaseDN },
		"scope": func() { s.Scope = in.Scope }, "active-filter": func() { s.ActiveFilter = in.ActiveFilter },
		"inactive-filter": func() { s.InactiveFilter = in.InactiveFilter }, "page-size": func() { s.PageSize = in.PageSize },
		"connect-timeout":        func() { s.ConnectTimeoutSeconds = in.ConnectTimeoutSeconds },
		"search-timeout":         func() { s.SearchTimeoutSeconds = in.SearchTimeoutSeconds },
		"deactivate-max-users":   func() { s.DeactivateMaxUsers = in.DeactivateMaxUsers },
		"deactivate-max-percent": func() { s.DeactivateMaxPercent = in.DeactivateMaxPercent },
		"shrink-max-percent":     func() { s.ShrinkMaxPercent = in.ShrinkMaxPercent },
	}
	for name, fn := range apply {
		if f.set[name] {
			fn()
		}
	}
	for _, m := range f.maps {
		field, attr, ok := strings.Cut(m, "=")
		if !ok {
			return fmt.Errorf("%w: --map %q: use field=attribute, e.g. username=uid", ErrUsage, m)
		}
		if err := s.AttributeMap.Set(strings.TrimSpace(field), strings.TrimSpace(attr)); err != nil {
			return fmt.Errorf("%w: --map: %s", ErrUsage, domain.ErrorMessage(err))
		}
	}
	return nil
}

// ldapConfigure changes the settings the flags name, through the same rule
// as the Admin form (domain.ValidateLDAPChange), so it refuses what the form
// refuses, with the same messages.
func ldapConfigure(ctx context.Context, io IO, args []string) error {
	f, st, err := parseLDAPConfigure(io, args)
	if err != nil {
		return err
	}
	caPEM, pw, err := f.readFiles(io)
	if err != nil {
		return err
	}
	return st.withStore(ctx, func(db *store.DB) error {
		cur, err := db.LDAPSettings(ctx)
		if err != nil {
			return err
		}
		next := cur
		if err := f.apply(&next, caPEM); err != nil {
			return err
		}
		if err := domain.ValidateLDAPChange(cur, next, pw); err != nil {
			return fmt.Errorf("ldap configure: nothing was saved: %w", err)
		}
		switch {
		case pw.Clear:
			next.BindPasswordEnc = ""
		case pw.New != "":
			box, err := st.box()
			if err != nil {
				return err
			}
			if next.BindPasswordEnc, err = box.Seal(pw.New); err != nil {
				return err
			}
		}
		saved, err := db.SaveLDAPSettings(ctx, next, st.actor())
		if err != nil {
			return fmt.Errorf("ldap configure: %w", err)
		}
		fmt.Fprintf(io.Stdout, "LDAP connection saved (version %d).\n", saved.Version)
		printLDAP(io.Stdout, &saved)
		return nil
	})
}

func ldapTest(ctx context.Context, io IO, args []string) error {
	st := newSetup("ldap test", io)
	return st.parseWithStore(ctx, args, func(db *store.DB) error {
		s, err := db.LDAPSettings(ctx)
		if err != nil {
			return err
		}
		box, err := st.box()
		if err != nil {
			return err
		}
		pw, err := box.Open(s.BindPasswordEnc)
		if err != nil {
			return err
		}
		return printLDAPTest(io.Stdout, directory.Test(ctx, s, pw))
	})
}

// printLDAPTest writes each step of the test and, when it passed, what the
// filters found; a failed test is an error.
func printLDAPTest(w io.Writer, rep directory.Report) error {
	for _, st := range rep.Steps {
		mark := "ok  "
		switch {
		case st.Skipped:
			mark = "skip"
		case !st.OK:
			mark = "FAIL"
		}
		fmt.Fprintf(w, "[%s] %-16s %s\n", mark, directory.StepLabel(st.Name), st.Detail)
	}
	if !rep.OK {
		return fmt.Errorf("ldap test: the connection test failed")
	}
	fmt.Fprintf(w, "Active filter finds %d entries, inactive filter %d.\n", rep.ActiveCount, rep.InactiveCount)
	for _, p := range rep.Samples {
		fmt.Fprintf(w, "  %s: username %q, name %q, email %q, stable id %q\n", p.DN, p.Username, p.DisplayName, p.Email, p.DirectoryID)
	}
	for _, e := range rep.SampleErrors {
		fmt.Fprintf(w, "  cannot map: %s\n", e)
	}
	return nil
}

func ldapAllowNextRun(ctx context.Context, io IO, args []string) error {
	st := newSetup("ldap allow-next-run", io)
	withdraw := st.fs.Bool("withdraw", false, "withdraw the permission instead")
	return st.parseWithStore(ctx, args, func(db *store.DB) error {
		if err := db.SetThresholdOverride(ctx, !*withdraw, st.actor()); err != nil {
			return err
		}
		if *withdraw {
			fmt.Fprintln(io.Stdout, "The next inactive run must stay within the deactivation limit.")
		} else {
			fmt.Fprintln(io.Stdout, "The next inactive run may deactivate more users than the limit, once.")
		}
		return nil
	})
}
