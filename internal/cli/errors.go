package cli

import (
	"errors"
	"strings"

	"idm/internal/domain"
)

// This file is where the command line turns domain errors into text: Run
// passes every subcommand's error through explain, and import words each
// refused line with errorText. A domain error prints its message (never its
// code); field errors print one line per field, named by the flag that
// sets it, with the same message the Admin form shows at the field.

// shownError is an error whose text is ready for a person; it unwraps to
// the original, so ExitCode and errors.Is still see it.
type shownError struct {
	text string
	err  error
}

func (e *shownError) Error() string { return e.text }
func (e *shownError) Unwrap() error { return e.err }

// explain rewords err when it holds a domain error: the context the
// subcommand wrapped around it, then the person-readable text.
func explain(err error) error {
	var fe domain.FieldErrors
	var de *domain.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		prefix := contextOf(err, fe)
		if len(fe) > 1 {
			prefix = strings.TrimRight(prefix, " ")
		}
		return &shownError{text: prefix + fieldText(fe), err: err}
	case errors.As(err, &de):
		return &shownError{text: contextOf(err, de) + de.Message, err: err}
	}
	return err
}

// errorText is err as a person reads it on the command line.
func errorText(err error) string { return explain(err).Error() }

// contextOf is what was wrapped around inner in err ("ldap configure: "),
// found as the part of err's text before inner's.
func contextOf(err, inner error) string {
	outer, tail := err.Error(), inner.Error()
	if prefix, ok := strings.CutSuffix(outer, tail); ok {
		return prefix
	}
	return ""
}

// fieldText puts one problem on the line, several one per line.
func fieldText(fe domain.FieldErrors) string {
	if len(fe) == 1 {
		return flagOf(fe[0].Field) + ": " + fe[0].Message
	}
	var b strings.Builder
	for _, e := range fe {
		b.WriteString("\n  " + flagOf(e.Field) + ": " + e.Message)
	}
	return b.String()
}

// flagNames are the flags whose names say more than their field's.
var flagNames = map[string]string{
	"":                        "input",
	"ca_cert":                 "--ca-cert-file",
	"bind_password":           "--bind-password-file",
	"connect_timeout_seconds": "--connect-timeout",
	"search_timeout_seconds":  "--search-timeout",
}

// flagOf names the flag that sets a field: the form's field name with
// dashes (start_tls is --start-tls), attr_NAME is --map NAME=.
func flagOf(field string) string {
	if name, ok := flagNames[field]; ok {
		return name
	}
	if attr, ok := strings.CutPrefix(field, "attr_"); ok {
		return "--map " + attr + "="
	}
	return "--" + strings.ReplaceAll(field, "_", "-")
}
