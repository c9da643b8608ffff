package domain_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"idm/internal/domain"
)

func TestErrors(t *testing.T) {
	one := domain.Invalid("url", "URL is required")
	var two domain.FieldErrors
	two.Add("url", "bad")
	two.Add("page_size", "too big")
	at := time.Date(2026, 5, 4, 9, 15, 0, 0, time.UTC)
	tests := []struct {
		name       string
		err        error
		code, text string
	}{
		{"FieldError", one, domain.EINVALID, "URL is required"},
		{"FieldErrorsWrapped", fmt.Errorf("ldap configure: %w", two), domain.EINVALID, "url: bad; page_size: too big"},
		{"NoFieldErrors", domain.FieldErrors(nil).Err(), "", ""},
		{"UnreadableForm", domain.UnreadableForm(errors.New(`invalid URL escape "%zz"`)), domain.EMALFORMED,
			`The form could not be read (invalid URL escape "%zz"): reload the page and try again.`},
		{"NoSuchJob", domain.NoSuchJob("nightly"), domain.ENOTFOUND, `There is no batch job "nightly".`},
		{"JobChanged", domain.JobChanged("alice", at), domain.ECONFLICT,
			"This job was changed by alice at 2026-05-04 09:15:00 UTC since you opened it; reload to see the change"},
		{"JobChangedInZone", domain.JobChanged("", at.In(time.FixedZone("CEST", 7200))), domain.ECONFLICT,
			"This job was changed by someone at 2026-05-04 11:15:00 CEST since you opened it; reload to see the change"},
		{"Internal", errors.New("disk full"), domain.EINTERNAL, "Internal error. The details are in the server log."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := domain.ErrorCode(tc.err); got != tc.code {
				t.Errorf("code %q, want %q", got, tc.code)
			}
			if got := domain.ErrorMessage(tc.err); got != tc.text {
				t.Errorf("message %q, want %q", got, tc.text)
			}
		})
	}
	t.Run("MapKeepsFirstMessage", func(t *testing.T) {
		var fe domain.FieldErrors
		fe.Add("url", "first")
		fe.Add("url", "second")
		if m := fe.Map(); m["url"] != "first" || !fe.Has("url") || fe.Has("scope") {
			t.Errorf("map %v", m)
		}
	})
}
