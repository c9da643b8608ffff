package cli_test

import (
	"strings"
	"testing"

	"idm/internal/cli"
	"idm/internal/domain"
)

// TestParseUserRecordMessages: a line that is not a record is refused with
// what is wrong and where, in the record's own field names.
func TestParseUserRecordMessages(t *testing.T) {
	cert := `{"serial":"1","issuer":"CN=CA","not_before":"2026-01-01T00:00:00Z","not_after":"2027-01-01T00:00:00Z","state":"active"`
	for _, tc := range []struct{ line, want string }{
		{`{"username":"a"`, "JSON syntax error at byte 16: unexpected EOF"},
		{`{"username":a}`, "JSON syntax error at byte 13 in username: invalid character 'a' at start of value"},
		{`{"username":1}`, "field username has the wrong type (a number)"},
		{`{"username":"a","roles":"x"}`, "field roles has the wrong type (a string)"},
		{`{"username":"a","credentials":[{"certificates":[{"not_after":5}]}]}`, "field credentials[0].certificates[0].not_after has the wrong type (a number)"},
		{`{"username":"a","roles":["x",2]}`, "field roles[1] has the wrong type (a number)"},
		{`{"username":"a","extra":1}`, `unknown field "extra"`},
		{`{"username":"a","credentials":[{"type":"card","serial":"1","state":"active","certificates":[` + cert + `,"pin":1}]}]}`,
			`unknown field "pin" in credentials[0].certificates[0]`},
		{`{"username":"a","credentials":[{"type":"card","serial":"1","state":"active","certificates":[{"not_before":"yesterday"}]}]}`,
			`field credentials[0].certificates[0].not_before: "yesterday" is not a time in RFC 3339 form`},
		{`{"username":"a","username":"b"}`, "field username is given twice"},
		{`{"username":"a","USERNAME":"b"}`, "field USERNAME is given twice"},
		{`{"username":"a"} {"username":"b"}`, "more than one JSON value on the line; put one user per line"},
		{`{"username":"a"}x`, "more than one JSON value on the line"},
		{`[1,2]`, "a record is one JSON object"},
		{`"a"`, "a record is one JSON object"},
		{`{"username":"\ud800"}`, "JSON syntax error at byte 14 in username: invalid surrogate pair"},
		{`null`, "username is required"},
	} {
		_, err := cli.ParseUserRecord([]byte(tc.line))
		if err == nil || !strings.Contains(err.Error(), tc.want) || domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("%s:\n got %v\nwant %q (EINVALID)", tc.line, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "cli.") {
			t.Errorf("%s: the message names a Go type: %v", tc.line, err)
		}
	}
}

// TestParseUserRecordCase: field names match regardless of case, as they
// did with encoding/json.
func TestParseUserRecordCase(t *testing.T) {
	d, err := cli.ParseUserRecord([]byte(`{"UserName":"a","Given_Name":"Ann","ROLES":["Staff"]}`))
	if err != nil || d.Username != "a" || d.GivenName != "Ann" || len(d.Roles) != 1 {
		t.Fatalf("got %+v, %v", d, err)
	}
}
