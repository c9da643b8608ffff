package api

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"idm/internal/domain"
	"idm/web/errkind"
)

// ErrorResponse is every error the API answers with:
// {"error": {"code": …, "message": …, "fields": […]}}, with the status the
// pages give the same kind of error (web/errkind).
type ErrorResponse struct {
	status int
	Body   ErrorBody `json:"error"`
}

// ErrorBody says what went wrong.
type ErrorBody struct {
	Code    string       `json:"code" enum:"malformed,invalid,not_found,conflict,unauthorized,forbidden,throttled,internal" doc:"The kind of error; the HTTP status follows from it."`
	Message string       `json:"message" doc:"What went wrong and how to mend it, for a person."`
	Fields  []FieldError `json:"fields,omitempty" doc:"The problems of each field of the request, when its values were refused."`
}

// FieldError is what is wrong with one field of a request.
type FieldError struct {
	Field   string `json:"field" doc:"The field: a body property, path or query parameter (empty for the request as a whole)."`
	Message string `json:"message"`
}

func (e *ErrorResponse) Error() string  { return e.Body.Code + ": " + e.Body.Message }
func (e *ErrorResponse) GetStatus() int { return e.status }

// problemOf is err as the API answers it: its kind's status and code, its
// person-readable message (a plain one for an internal error, whose details
// are only logged), and its field problems.
func problemOf(err error) *ErrorResponse {
	var e *ErrorResponse
	if errors.As(err, &e) {
		return e
	}
	p := &ErrorResponse{status: errkind.Status(err), Body: ErrorBody{Code: domain.ErrorCode(err), Message: domain.ErrorMessage(err)}}
	var fe domain.FieldErrors
	if errors.As(err, &fe) {
		for _, f := range fe {
			p.Body.Fields = append(p.Body.Fields, FieldError{Field: f.Field, Message: f.Message})
		}
	}
	return p
}

// The error model of huma: every error it raises itself (a body that does
// not decode or breaks the schema, a missing body, an unknown query
// parameter) and any error a handler returns comes out in our shape. Huma
// offers this only as package variables; they are set once, here, before
// any operation is registered (Register reads NewError for the schema).
func init() {
	huma.NewError = newError
	huma.NewErrorWithContext = func(ctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
		if status >= 500 {
			loggerFrom(ctx.Context()).Error("api request failed", "method", ctx.Method(), "path", ctx.URL().Path,
				"status", status, "err", errors.Join(errs...), "huma", msg)
		}
		return newError(status, msg, errs...)
	}
}

// newError is huma's error, in our shape. The values huma would echo back
// (a body that did not decode, a field's value: perhaps a password) are
// left out, and so is whatever an internal error says.
func newError(status int, msg string, errs ...error) huma.StatusError {
	for _, err := range errs {
		var ours *ErrorResponse
		if errors.As(err, &ours) {
			return ours
		}
	}
	e := &ErrorResponse{status: status, Body: ErrorBody{Code: errkind.Code(status)}}
	if status >= 500 {
		e.Body.Message = domain.ErrorMessage(errors.New("internal"))
		return e
	}
	var fields domain.FieldErrors
	for _, err := range errs {
		var d huma.ErrorDetailer
		switch {
		case errors.As(err, &d):
			det := d.ErrorDetail()
			fields.Add(fieldOf(det.Location), "%s", det.Message)
		case err != nil:
			fields.Add("", "%s", domain.ErrorMessage(err))
		}
	}
	for _, f := range fields {
		e.Body.Fields = append(e.Body.Fields, FieldError(f))
	}
	e.Body.Message = sentence(msg)
	if len(fields) > 0 {
		e.Body.Message += ": " + listed(fields)
	}
	return e
}

// listed is the field problems in one line: "field: message" each, the
// message alone for the request as a whole.
func listed(fields domain.FieldErrors) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f.Message
		if f.Field != "" {
			parts[i] = f.Field + ": " + f.Message
		}
	}
	return strings.Join(parts, "; ")
}

// fieldOf names the field of a huma location: body.dry_run is dry_run,
// path.key is key, the body itself is "".
func fieldOf(location string) string {
	_, field, _ := strings.Cut(location, ".")
	return field
}

// sentence is huma's short message as the start of one of ours.
func sentence(msg string) string {
	switch msg {
	case "", "validation failed":
		return "The request is not valid"
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}

type ctxKey int

const loggerKey ctxKey = iota

// loggerFrom is the API's logger, which New puts in every request's context.
func loggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
