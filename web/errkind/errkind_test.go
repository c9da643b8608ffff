package errkind_test

import (
	"errors"
	"net/http"
	"testing"

	"idm/internal/domain"
	"idm/web/errkind"
)

func TestStatusAndCode(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{"Malformed", domain.UnreadableForm(errors.New("x")), http.StatusBadRequest},
		{"FieldErrorsAreInvalid", domain.Invalid("url", "bad"), http.StatusUnprocessableEntity},
		{"NotFound", domain.NoSuchJob("x"), http.StatusNotFound},
		{"Conflict", domain.Errorf(domain.ECONFLICT, "x"), http.StatusConflict},
		{"Unauthorized", domain.Errorf(domain.EUNAUTHORIZED, "x"), http.StatusUnauthorized},
		{"Forbidden", domain.Errorf(domain.EFORBIDDEN, "x"), http.StatusForbidden},
		{"Throttled", domain.Errorf(domain.ETHROTTLED, "x"), http.StatusTooManyRequests},
		{"Internal", errors.New("disk on fire"), http.StatusInternalServerError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status := errkind.Status(tc.err)
			if status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
			if code := errkind.Code(status); code != domain.ErrorCode(tc.err) {
				t.Fatalf("Code(%d) = %s, want %s: the table must go both ways", status, code, domain.ErrorCode(tc.err))
			}
		})
	}
	for status, want := range map[int]string{http.StatusMethodNotAllowed: domain.EMALFORMED, http.StatusRequestEntityTooLarge: domain.EMALFORMED, http.StatusBadGateway: domain.EINTERNAL} {
		if got := errkind.Code(status); got != want {
			t.Errorf("Code(%d) = %s, want %s", status, got, want)
		}
	}
}
