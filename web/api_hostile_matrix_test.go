package web_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"idm/internal/domain"
	"idm/internal/testenv"
)

// The hostile input matrix of the JSON API, read from the OpenAPI document
// the API serves: every path and query parameter and every field of every
// request body, spoiled with each hostile kind, sent with an
// administrator's token, on both databases. Each is refused with a 4xx in
// the error shape (with a message) and writes nothing, or is accepted as a
// designed free-text value, never storing what no column can hold.

// apiSamples name stored records for the API's path parameters.
func (e *accessEnv) apiSamples() map[string]string {
	return map[string]string{"key": string(domain.JobActive), "id": e.runID, "username": "ann"}
}

// apiBodies are request bodies each operation accepts, by operation id.
func (e *accessEnv) apiBodies(t *testing.T) map[string]func() map[string]any {
	asMap := func(v any) map[string]any {
		b, _ := json.Marshal(v)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return m
	}
	return map[string]func() map[string]any{
		"start-run":    func() map[string]any { return map[string]any{"dry_run": true} },
		"put-schedule": func() map[string]any { return asMap(e.scheduleBody(t)) },
		// The password given again, so that a changed server or bind DN
		// is checked for itself.
		"put-ldap": func() map[string]any { m := asMap(e.ldapBody(t)); m["bind_password"] = "secret"; return m },
	}
}

// apiFreeText are the body fields (operation id and field) that take any
// one line of text: the bind password (never shown back) and the bind name
// (as on the LDAP page).
var apiFreeText = []string{"put-ldap bind_password", "put-ldap bind_dn"}

// apiOperation is one operation of the document, ready to send.
type apiOperation struct {
	id, method, template string
	op                   *openapi3.Operation
}

func TestAPIHostileMatrix(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		e := newAccessEnvOn(t, dbURL)
		doc, _ := e.openAPIDoc(t)
		tried := 0
		for _, o := range apiOperations(doc) {
			t.Run(o.id, func(t *testing.T) { tried += e.spoilOperation(t, o) })
		}
		t.Logf("%d operations, %d spoiled requests", len(apiOperations(doc)), tried)
	})
}

// apiOperations are the document's operations, in a fixed order.
func apiOperations(doc *openapi3.T) []apiOperation {
	var ops []apiOperation
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			ops = append(ops, apiOperation{id: op.OperationID, method: method, template: "/api/v1" + path, op: op})
		}
	}
	slices.SortFunc(ops, func(a, b apiOperation) int { return strings.Compare(a.id, b.id) })
	return ops
}

// spoilOperation sends o with each parameter and body field spoiled by
// each kind; it returns how many requests it sent.
func (e *accessEnv) spoilOperation(t *testing.T, o apiOperation) int {
	samples, bodies := e.apiSamples(), e.apiBodies(t)
	body := bodies[o.id]
	if o.op.RequestBody != nil && body == nil {
		t.Fatalf("no body for %s: add one to apiBodies", o.id)
	}
	n := 0
	for _, p := range o.op.Parameters {
		name, in := p.Value.Name, p.Value.In
		if in == "path" && samples[name] == "" {
			t.Fatalf("no sample for the path parameter %s of %s: add one to apiSamples", name, o.id)
		}
		for _, k := range hostileKinds {
			t.Run(in+" "+name+"/"+k.name, func(t *testing.T) {
				path, query := e.apiPath(o, samples, name, in, k.value)
				e.judgeAPI(t, o, in+" "+name, k, apiRequest{method: o.method, path: path + query, body: bodyOf(body)})
			})
			n++
		}
	}
	if body != nil {
		for field := range body() {
			for _, k := range hostileKinds {
				t.Run("body "+field+"/"+k.name, func(t *testing.T) {
					path, _ := e.apiPath(o, samples, "", "", "")
					e.judgeAPI(t, o, field, k, apiRequest{method: o.method, path: path, body: spoiledBody(body(), field, k.value)})
				})
				n++
			}
		}
	}
	return n
}

// apiPath is o's path with its path parameters' samples, the one named
// name (in path or query) holding v instead.
func (e *accessEnv) apiPath(o apiOperation, samples map[string]string, name, in, v string) (path, query string) {
	path = o.template
	for _, p := range o.op.Parameters {
		if p.Value.In != "path" {
			continue
		}
		value := samples[p.Value.Name]
		if p.Value.Name == name && in == "path" {
			value = v
		}
		path = strings.ReplaceAll(path, "{"+p.Value.Name+"}", url.PathEscape(value))
	}
	if in == "query" {
		query = "?" + url.Values{name: {v}}.Encode()
	}
	return path, query
}

func bodyOf(body func() map[string]any) any {
	if body == nil {
		return nil
	}
	return body()
}

// spoiledBody is body as JSON with field holding v, as raw bytes: invalid
// UTF-8 reaches the server as sent (json.Marshal would replace it).
func spoiledBody(body map[string]any, field, v string) string {
	const mark = "\x01spoiled\x01"
	body[field] = mark
	b, _ := json.Marshal(body)
	quoted, _ := json.Marshal(mark)
	raw := `"` + strings.NewReplacer(`"`, `\"`, `\`, `\\`, "\x00", `\u0000`).Replace(v) + `"`
	return strings.Replace(string(b), string(quoted), raw, 1)
}

// judgeAPI sends req and judges the answer, as the pages' matrix does.
func (e *accessEnv) judgeAPI(t *testing.T, o apiOperation, field string, k hostileKind, req apiRequest) {
	req.token = e.tokens["Administrator"]
	before := e.statements.Len()
	a := e.api(t, req)
	writes := writesIn(e.statements.Since(before))
	if a.status >= 500 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	if a.status >= 400 {
		e.problemSays(t, a)
		assertWritesOnly(t, writes, "api_tokens")
		return
	}
	e.waitIdle(t)
	for _, w := range writes {
		for _, m := range []string{k.marker, "\ufffd"} {
			if m != "" && k.marker != "" && strings.Contains(w, m) {
				t.Errorf("%s saved: %.200q", k.name, w)
			}
		}
	}
	if !k.plausible && !slices.Contains(apiFreeText, o.id+" "+field) {
		t.Errorf("%s in %s accepted (%d %.300s), want a 4xx", k.name, field, a.status, a.body)
	}
}

// problemSays: a refusal is the error shape with a message.
func (e *accessEnv) problemSays(t *testing.T, a apiAnswer) {
	t.Helper()
	if p := a.problem(t); strings.TrimSpace(p.Error.Message) == "" {
		t.Errorf("%d without a message: %s", a.status, a.body)
	}
}

// waitIdle waits until a run an accepted request started has ended.
func (e *accessEnv) waitIdle(t *testing.T) {
	(&routeTable{e: e.testEnv}).waitIdle(t)
}
