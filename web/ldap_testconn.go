package web

import (
	"context"
	"net/http"
	"sort"
	"time"

	"idm/internal/directory"
	"idm/internal/domain"
	"idm/templates"
)

// handleLDAPTestConnection tests the values in the form, saved or not:
// each step passed or failed, what each filter finds, and sample users as
// they would be mapped. htmx gets the result fragment; a plain POST gets the
// page with the form as typed and the result under it.
func (s *Server) handleLDAPTestConnection(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cur, err := s.deps.Store.LDAPSettings(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := parseLDAPForm(r, cur)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	result := s.testLDAP(ctx, cur, f)
	if isHTMX(r) {
		s.render(w, r, http.StatusOK, templates.LDAPTestResult(result))
		return
	}
	s.renderLDAP(w, r, http.StatusOK, cur, templates.LDAPView{S: f.S, Errors: f.Errors, Test: result})
}

func (s *Server) testLDAP(ctx context.Context, cur domain.LDAPSettings, f ldapForm) *templates.LDAPTestView {
	v := &templates.LDAPTestView{Insecure: f.S.InsecureSkipVerify}
	problem := func(msg string) *templates.LDAPTestView {
		v.Problems = append(v.Problems, msg)
		return v
	}
	if len(f.Errors) > 0 {
		names := make([]string, 0, len(f.Errors))
		for name := range f.Errors {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			v.Problems = append(v.Problems, name+": "+f.Errors[name])
		}
		return v
	}
	password := f.Password
	if password == "" && !f.ClearPassword && cur.BindPasswordEnc != "" {
		// The stored password goes only to the saved server: a test must not
		// send it to an address typed into the form.
		if f.S.URL != cur.URL {
			return problem("Type the bind password to test a server other than the saved one (" + cur.URL + ").")
		}
		var err error
		if password, err = s.deps.Box.Open(cur.BindPasswordEnc); err != nil {
			s.log.Error("open stored bind password", "err", err)
			return problem("The stored bind password cannot be decrypted with this server's secret key: type it again.")
		}
	}
	limit := time.Duration(f.S.ConnectTimeoutSeconds+2*f.S.SearchTimeoutSeconds)*time.Second + 5*time.Second
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	rep := directory.Test(ctx, f.S, password)
	s.log.Info("ldap connection tested", "settings", f.S.String(), "ok", rep.OK)
	v.OK, v.ActiveCount, v.InactiveCount = rep.OK, rep.ActiveCount, rep.InactiveCount
	v.Samples, v.SampleErrors = rep.Samples, rep.SampleErrors
	for _, f := range rep.Filters {
		v.Filters = append(v.Filters, templates.LDAPTestFilter{
			Label: directory.StepLabel(f.Step), Filter: f.Filter, Count: f.Count, Referrals: f.Referrals, Warning: f.Warning,
		})
	}
	for _, st := range rep.Steps {
		step := templates.LDAPTestStep{Label: directory.StepLabel(st.Name), OK: st.OK, Skipped: st.Skipped, Detail: st.Detail}
		if !st.Skipped {
			step.Took = roundDuration(st.Duration)
		}
		v.Steps = append(v.Steps, step)
	}
	return v
}
