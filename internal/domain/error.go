// Package domain holds what the identity store is about: people, their
// credentials, certificates and roles, the batch jobs and their runs, and the
// rules for moving them between states. It depends on nothing else in the
// program.
package domain

import (
	"errors"
	"fmt"
	"time"
)

// Error codes say what kind of failure happened, so that the HTTP layer and
// the command line can map them to a status once, in one place.
const (
	ECONFLICT     = "conflict"     // the action conflicts with the current state (stale version, job running)
	EINTERNAL     = "internal"     // a fault: logged, shown as a plain message
	EINVALID      = "invalid"      // bad input: shown to the person as it is
	EMALFORMED    = "malformed"    // a request that cannot even be read (a form that does not decode)
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

// ErrorCode returns the code of the first *Error (or EINVALID for the first
// FieldErrors) in err's chain, EINTERNAL for any other non-nil error, and ""
// for nil.
func ErrorCode(err error) string {
	code, _ := codeAndMessage(err)
	return code
}

// ErrorMessage returns the person-readable message of err; internal errors
// get a plain message, never their details.
func ErrorMessage(err error) string {
	_, message := codeAndMessage(err)
	return message
}

// codeAndMessage is what ErrorCode and ErrorMessage tell of err: those of
// the first *Error in its chain, else EINVALID and the text of its first
// FieldErrors, else EINTERNAL and a message that gives no details.
func codeAndMessage(err error) (code, message string) {
	var e *Error
	var fe FieldErrors
	switch {
	case err == nil:
		return "", ""
	case errors.As(err, &e):
		return e.Code, e.Message
	case errors.As(err, &fe):
		return EINVALID, fe.Text()
	}
	return EINTERNAL, "Internal error. The details are in the server log."
}

// UnreadableForm is the answer to a form that does not decode (a broken
// percent-escape, a body too large): the request is malformed, nothing in it
// can be trusted, and nothing is changed.
func UnreadableForm(err error) *Error {
	return Errorf(EMALFORMED, "The form could not be read (%v): reload the page and try again.", err)
}

// NoSuchJob is the answer to a batch job key that names no job.
func NoSuchJob(key string) *Error {
	return Errorf(ENOTFOUND, "There is no batch job %q.", key)
}

// JobChanged refuses a save made against an older version of a job: who
// saved since, and when (shown in at's location).
func JobChanged(by string, at time.Time) *Error {
	if by == "" {
		by = "someone"
	}
	return Errorf(ECONFLICT, "This job was changed by %s at %s since you opened it; reload to see the change",
		by, at.Format("2006-01-02 15:04:05 MST"))
}
