// Package domain holds what the identity store is about: people, their
// credentials, certificates and roles, the batch jobs and their runs, and the
// rules for moving them between states. It depends on nothing else in the
// program.
package domain

import (
	"errors"
	"fmt"
)

// Error codes say what kind of failure happened, so that the HTTP layer and
// the command line can map them to a status once, in one place.
const (
	ECONFLICT     = "conflict"     // the action conflicts with the current state (stale version, job running)
	EINTERNAL     = "internal"     // a fault: logged, shown as a plain message
	EINVALID      = "invalid"      // bad input: shown to the person as it is
	ENOTFOUND     = "not_found"    // the thing does not exist
	EUNAUTHORIZED = "unauthorized" // not signed in, or wrong credentials
	EFORBIDDEN    = "forbidden"    // signed in, but not allowed
	ETHROTTLED    = "throttled"    // too many attempts
)

// Error is an error meant to be shown to a person: Message is safe to render.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf builds an *Error with a formatted, person-readable message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the person-readable message of err; internal errors
// get a plain message, never their details.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error. The details are in the server log."
}
