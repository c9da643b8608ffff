package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"idm/internal/domain"
	"idm/internal/store"
)

// TestAPIHostileInput: whatever a client sends, the answer is a 4xx in the
// error shape (and in the OpenAPI document), never a 500, and nothing is
// changed.
func TestAPIHostileInput(t *testing.T) {
	e := newAccessEnv(t)
	admin := e.tokens["Administrator"]
	version := e.job(domain.JobActive).Version
	sched := func(extra string) string {
		return `{"expression":"0 4 * * *","enabled":true,"version":` + strconv.Itoa(version) + extra + `}`
	}
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name, method, path string
		body               string
		header             http.Header
		status             int
		field              string // the field named in the answer, when one is
	}{
		{"JobKeyNUL", "GET", "/api/v1/jobs/a%00b/schedule", "", nil, 404, ""},
		{"JobKeyUnknown", "POST", "/api/v1/jobs/nightly/runs", `{}`, nil, 404, ""},
		{"JobKeyOverlong", "GET", "/api/v1/jobs/" + long + "/schedule", "", nil, 404, ""},
		{"RunIDNUL", "GET", "/api/v1/runs/%00", "", nil, 404, ""},
		{"RunIDOverlong", "GET", "/api/v1/runs/" + long, "", nil, 404, ""},
		{"RunIDInvalidUTF8", "GET", "/api/v1/runs/%ff%fe", "", nil, 404, ""},
		{"UsernameNUL", "GET", "/api/v1/users/ann%00", "", nil, 404, ""},
		{"UsernameOverlong", "GET", "/api/v1/users/" + long, "", nil, 404, ""},
		{"OutcomeUnknown", "GET", "/api/v1/runs/" + e.runID + "/items?outcome=gone", "", nil, 422, "outcome"},
		{"LimitZero", "GET", "/api/v1/runs/" + e.runID + "/items?limit=0", "", nil, 422, "limit"},
		{"LimitHuge", "GET", "/api/v1/runs/" + e.runID + "/items?limit=99999999999999999999", "", nil, 422, "limit"},
		{"LimitWord", "GET", "/api/v1/runs/" + e.runID + "/items?limit=ten", "", nil, 422, "limit"},
		{"CursorGarbage", "GET", "/api/v1/runs/" + e.runID + "/items?cursor=%%%", "", nil, 400, ""},
		{"CursorNotOurs", "GET", "/api/v1/runs/" + e.runID + "/items?cursor=bm90IGEgY3Vyc29y", "", nil, 422, "cursor"},
		{"CursorOverlong", "GET", "/api/v1/runs/" + e.runID + "/items?cursor=" + long, "", nil, 422, "cursor"},
		{"UnknownQueryParameter", "GET", "/api/v1/jobs?debug=1", "", nil, 422, "debug"},
		{"BadJSON", "PUT", "/api/v1/jobs/active/schedule", `{"expression":`, nil, 400, ""},
		{"NotAnObject", "PUT", "/api/v1/jobs/active/schedule", `[1,2]`, nil, 422, ""},
		{"EmptyBody", "PUT", "/api/v1/jobs/active/schedule", ``, nil, 400, ""},
		{"UnknownField", "PUT", "/api/v1/jobs/active/schedule", sched(`,"owner":"mallory"`), nil, 422, ""},
		{"MissingField", "PUT", "/api/v1/jobs/active/schedule", `{"expression":"0 4 * * *","enabled":true}`, nil, 422, ""},
		{"WrongType", "PUT", "/api/v1/jobs/active/schedule", `{"expression":1,"enabled":"yes","version":"7"}`, nil, 422, "expression"},
		{"VersionOutOfRange", "PUT", "/api/v1/jobs/active/schedule", `{"expression":"0 4 * * *","enabled":true,"version":1e30}`, nil, 422, "version"},
		{"VersionNegative", "PUT", "/api/v1/jobs/active/schedule", `{"expression":"0 4 * * *","enabled":true,"version":-1}`, nil, 422, "version"},
		{"VersionFraction", "PUT", "/api/v1/jobs/active/schedule", `{"expression":"0 4 * * *","enabled":true,"version":1.5}`, nil, 422, "version"},
		{"ExpressionNUL", "PUT", "/api/v1/jobs/active/schedule", `{"expression":"0 4 * * *\u0000","enabled":true,"version":` + strconv.Itoa(version) + `}`, nil, 422, "expression"},
		{"ExpressionOverlong", "PUT", "/api/v1/jobs/active/schedule", `{"expression":"` + long + `","enabled":true,"version":` + strconv.Itoa(version) + `}`, nil, 422, "expression"},
		{"FormInsteadOfJSON", "PUT", "/api/v1/jobs/active/schedule", `expression=x`, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, 415, ""},
		{"HugeBody", "PUT", "/api/v1/ldap", `{"url":"` + strings.Repeat("a", 2<<20) + `"}`, nil, 413, ""},
		{"LDAPNumbersOutOfRange", "PUT", "/api/v1/ldap", e.ldapBodyWith(t, "page_size", "1e300"), nil, 422, "page_size"},
		{"LDAPNumberTooBigForTheColumn", "PUT", "/api/v1/ldap", e.ldapBodyWith(t, "deactivate_max_users", "9223372036854775807"), nil, 422, "deactivate_max_users"},
		{"LDAPMissingFields", "PUT", "/api/v1/ldap", `{"url":"ldap://x"}`, nil, 422, ""},
		{"QueryTwice", "GET", "/api/v1/runs/" + e.runID + "/items?outcome=created&outcome=error", "", nil, 422, "outcome"},
		{"RunBodyWrongType", "POST", "/api/v1/jobs/active/runs", `{"dry_run":"no"}`, nil, 422, "dry_run"},
		{"UnknownRoute", "GET", "/api/v1/jobz", "", nil, 404, ""},
		{"RootOfTheAPI", "GET", "/api/v1/", "", nil, 404, ""},
		{"MethodNotAllowed", "DELETE", "/api/v1/jobs", "", nil, 405, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := apiRequest{method: tc.method, path: tc.path, token: admin, header: tc.header}
			if tc.body != "" || tc.method == http.MethodPut {
				req.body = tc.body
			}
			a := e.api(t, req)
			if a.status != tc.status {
				t.Fatalf("%d %s, want %d", a.status, a.body, tc.status)
			}
			p := a.problem(t)
			if tc.field != "" && !hasField(p, tc.field) {
				t.Errorf("answer %s names no field %s", a.body, tc.field)
			}
		})
	}
	if v := e.job(domain.JobActive).Version; v != version {
		t.Errorf("schedule version %d after hostile input, want %d", v, version)
	}
	if strings.Contains(string(e.api(t, apiRequest{method: "PUT", path: "/api/v1/ldap", token: admin, body: `{"bind_password":"hunter2-secret"`}).body), "hunter2") {
		t.Error("a body that did not decode was echoed back")
	}
}

// ldapBodyWith is the stored LDAP connection with field's value replaced
// by raw JSON.
func (e *accessEnv) ldapBodyWith(t *testing.T, field, raw string) string {
	body := e.ldapBody(t).(map[string]any)
	body[field] = json.RawMessage(raw)
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func hasField(p errorBody, field string) bool {
	for _, f := range p.Error.Fields {
		if f.Field == field || strings.HasPrefix(f.Field, field+".") || strings.HasPrefix(f.Field, field+"[") {
			return true
		}
	}
	return false
}

// TestAPIUsernameEncoding: a username holding characters a path cannot
// carry as they are is found through its percent-encoding.
func TestAPIUsernameEncoding(t *testing.T) {
	e := newAccessEnv(t)
	for _, name := range []string{"a/b", "o'brien c", "50%", "x?y#z", "åsa"} {
		if _, err := e.db.ImportUser(context.Background(), store.UserDetail{User: domain.User{Username: name, State: domain.UserActive, Source: domain.SourceImport}}); err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			a := e.apiGet(t, "/api/v1/users/"+url.PathEscape(name), e.tokens["Operator"])
			var u struct {
				Username string `json:"username"`
			}
			a.json(t, &u)
			if a.status != http.StatusOK || u.Username != name {
				t.Fatalf("%d %s, want %q", a.status, a.body, name)
			}
		})
	}
}
