// Package errkind maps the kind of an error (its domain code) to an HTTP
// status, in one place: the pages and the JSON API answer each kind with the
// same status.
package errkind

import (
	"net/http"

	"idm/internal/domain"
)

// kinds are each code's status and the title of its error page; anything
// else is a 500 "Error".
var kinds = map[string]struct {
	status int
	title  string
}{
	domain.EMALFORMED:    {http.StatusBadRequest, "Bad request"},
	domain.EINVALID:      {http.StatusUnprocessableEntity, "Invalid input"},
	domain.ENOTFOUND:     {http.StatusNotFound, "Not found"},
	domain.ECONFLICT:     {http.StatusConflict, "Conflict"},
	domain.EUNAUTHORIZED: {http.StatusUnauthorized, "Sign in required"},
	domain.EFORBIDDEN:    {http.StatusForbidden, "Not allowed"},
	domain.ETHROTTLED:    {http.StatusTooManyRequests, "Too many attempts"},
}

// Status is the HTTP status of err's kind.
func Status(err error) int {
	if k, ok := kinds[domain.ErrorCode(err)]; ok {
		return k.status
	}
	return http.StatusInternalServerError
}

// Title is the title of the error page for err.
func Title(err error) string {
	if k, ok := kinds[domain.ErrorCode(err)]; ok {
		return k.title
	}
	return "Error"
}

// Code is the kind of an answer the HTTP layer gives on its own (a body that
// does not decode, a method a route does not take): the code whose status
// it is, else malformed for any other 4xx and internal for the rest.
func Code(status int) string {
	for code, k := range kinds {
		if k.status == status {
			return code
		}
	}
	if status >= 400 && status < 500 {
		return domain.EMALFORMED
	}
	return domain.EINTERNAL
}
