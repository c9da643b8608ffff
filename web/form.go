package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"idm/internal/domain"
)

// form reads a posted form's fields. What a field holds that is not even of
// its kind (a word in a number field, a switch that is neither on nor off)
// is recorded at the field in errs; the rules for the values themselves are
// the domain's.
type form struct {
	r    *http.Request
	errs domain.FieldErrors
}

// readForm parses the posted form. One that does not decode is malformed:
// a 400, and nothing is changed.
func readForm(r *http.Request) (*form, error) {
	if err := r.ParseForm(); err != nil {
		return nil, domain.UnreadableForm(err)
	}
	return &form{r: r}, nil
}

// raw is a field as posted.
func (f *form) raw(name string) string { return f.r.PostFormValue(name) }

// text is a field without surrounding spaces.
func (f *form) text(name string) string { return strings.TrimSpace(f.raw(name)) }

// flag is a checkbox or a hidden true/false: "true" is on, absent (or
// "false") is off, anything else is refused at the field.
func (f *form) flag(name string) bool { return f.checkbox(name, "true") }

// checkbox is a checkbox whose value is on: on is on, absent (or "false")
// is off, anything else is refused at the field.
func (f *form) checkbox(name, on string) bool {
	switch f.raw(name) {
	case on:
		return true
	case "", "false":
		return false
	}
	f.errs.Add(name, "This switch is either on (%s) or off (false or left out)", on)
	return false
}

// number reads a whole number into dst; dst keeps its value when the field
// holds none, so the form shows what was there.
func (f *form) number(name string, dst *int) {
	n, err := strconv.Atoi(f.text(name))
	switch {
	case errors.Is(err, strconv.ErrRange):
		f.errs.Add(name, "This number is out of range")
	case err != nil:
		f.errs.Add(name, "Enter a whole number")
	default:
		*dst = n
	}
}

// version is the version of the record the form was opened at, for the
// store's optimistic locking.
func (f *form) version() (int, error) {
	n, err := strconv.Atoi(f.raw("version"))
	if err != nil || n < 0 {
		return 0, domain.Errorf(domain.EINVALID, "The form has no version: reload the page and save again.")
	}
	return n, nil
}
