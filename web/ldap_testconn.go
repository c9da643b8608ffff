package web

import (
	"context"
	"net/http"
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
	cur, f, err := s.readLDAPForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	errs := f.Errors
	errs.Merge(f.S.Validate())
	errs.Merge(f.Password.Validate())
	result := s.testLDAP(ctx, cur, f, errs)
	if isHTMX(r) {
		s.render(w, r, http.StatusOK, templates.LDAPTestResult(result))
		return
	}
	s.renderLDAP(w, r, http.StatusOK, cur, templates.LDAPView{S: f.S, Errors: errs.Map(), Test: result})
}

// filterSteps are the test's steps for the two filter fields.
var filterSteps = map[string]string{"active_filter": directory.StepActive, "inactive_filter": directory.StepInactive}

// testLDAP runs the test unless errs holds a problem that keeps it from
// reaching the directory. A refused filter does not: the test runs, and the
// filter's step fails with the rule's reason.
func (s *Server) testLDAP(ctx context.Context, cur domain.LDAPSettings, f ldapForm, errs domain.FieldErrors) *templates.LDAPTestView {
	v := &templates.LDAPTestView{Insecure: f.S.InsecureSkipVerify}
	refusedFilters := map[string]string{}
	for _, fe := range errs {
		if step, ok := filterSteps[fe.Field]; ok {
			refusedFilters[step] = fe.Message
		} else {
			v.Problems = append(v.Problems, fe.Field+": "+fe.Message)
		}
	}
	if len(v.Problems) > 0 {
		return v
	}
	password, problem := s.testPassword(cur, f)
	if problem != "" {
		v.Problems = append(v.Problems, problem)
		return v
	}
	limit := time.Duration(f.S.ConnectTimeoutSeconds+2*f.S.SearchTimeoutSeconds)*time.Second + 5*time.Second
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	rep := directory.Test(ctx, f.S, password)
	s.log.Info("ldap connection tested", "settings", f.S.String(), "ok", rep.OK)
	v.OK, v.ActiveCount, v.InactiveCount = rep.OK && len(refusedFilters) == 0, rep.ActiveCount, rep.InactiveCount
	v.Samples, v.SampleErrors = rep.Samples, rep.SampleErrors
	for _, f := range rep.Filters {
		v.Filters = append(v.Filters, templates.LDAPTestFilter{
			Label: directory.StepLabel(f.Step), Filter: f.Filter, Count: f.Count, Referrals: f.Referrals, Warning: f.Warning,
		})
	}
	for _, st := range rep.Steps {
		step := templates.LDAPTestStep{Label: directory.StepLabel(st.Name), OK: st.OK, Skipped: st.Skipped, Detail: st.Detail}
		if msg, refused := refusedFilters[st.Name]; refused && !st.Skipped {
			step.OK, step.Detail = false, msg
		}
		if !st.Skipped {
			step.Took = roundDuration(st.Duration)
		}
		v.Steps = append(v.Steps, step)
	}
	return v
}

// testPassword is the password a test binds with: the typed one, or the
// stored one, but only towards the server it was saved for.
func (s *Server) testPassword(cur domain.LDAPSettings, f ldapForm) (password, problem string) {
	if f.Password.New != "" || f.Password.Clear || cur.BindPasswordEnc == "" {
		return f.Password.New, ""
	}
	if !domain.StoredPasswordFits(cur, f.S) {
		return "", "Type the bind password to test a server other than the saved one (" + cur.URL +
			"), or other TLS settings or another bind DN: the stored password goes only where it was saved for."
	}
	password, err := s.deps.Box.Open(cur.BindPasswordEnc)
	if err != nil {
		s.log.Error("open stored bind password", "err", err)
		return "", "The stored bind password cannot be decrypted with this server's secret key: type it again."
	}
	return password, ""
}
