package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"idm/internal/auth"
)

// The API tests' helpers: tokens made as the CLI and the Admin page make
// them, and a client that holds every answer against the OpenAPI document
// the API serves (kin-openapi): an answer the document does not describe
// fails the test, whatever the test itself checks.

// apiToken makes a token for account through the token service.
func (e *testEnv) apiToken(t *testing.T, account, name, expires string) string {
	t.Helper()
	plain, _, err := auth.NewTokens(e.db, e.db.Now).Create(context.Background(), account, name, expires, "test")
	if err != nil {
		t.Fatalf("token %s of %s: %v", name, account, err)
	}
	return plain
}

// apiAnswer is one answer of the API.
type apiAnswer struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the answer's body into v.
func (a apiAnswer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

// errorBody is the API's error shape.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Fields  []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"fields"`
	} `json:"error"`
}

func (a apiAnswer) problem(t *testing.T) errorBody {
	t.Helper()
	var b errorBody
	a.json(t, &b)
	if b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("not an error answer: %d %s", a.status, a.body)
	}
	return b
}

// apiRequest is a request to the API: a body (marshalled unless it is a
// string, sent as it is) and headers.
type apiRequest struct {
	method, path, token string
	body                any
	header              http.Header
}

// api sends req straight to the handler and validates the answer against
// the OpenAPI document.
func (e *testEnv) api(t *testing.T, req apiRequest) apiAnswer {
	t.Helper()
	var body io.Reader
	switch b := req.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	r := httptest.NewRequest(req.method, req.path, body)
	if body != nil && req.header.Get("Content-Type") == "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if req.token != "" {
		r.Header.Set("Authorization", "Bearer "+req.token)
	}
	for k, v := range req.header {
		r.Header[k] = v
	}
	res := serve(e.h, r)
	a := apiAnswer{status: res.Code, header: res.Header(), body: res.Body.Bytes()}
	e.validateAnswer(t, r, a)
	return a
}

// get is a GET of path with token.
func (e *testEnv) apiGet(t *testing.T, path, token string) apiAnswer {
	t.Helper()
	return e.api(t, apiRequest{method: http.MethodGet, path: path, token: token})
}

// openAPI is the document the API serves, loaded and checked once per
// test binary.
var openAPI struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

func (e *testEnv) openAPIDoc(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	openAPI.once.Do(func() {
		res := serve(e.h, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
		loader := openapi3.NewLoader()
		if openAPI.doc, openAPI.err = loader.LoadFromData(res.Body.Bytes()); openAPI.err != nil {
			return
		}
		if openAPI.err = openAPI.doc.Validate(loader.Context); openAPI.err != nil {
			return
		}
		openAPI.router, openAPI.err = gorillamux.NewRouter(openAPI.doc)
	})
	if openAPI.err != nil {
		t.Fatalf("the OpenAPI document: %v", openAPI.err)
	}
	return openAPI.doc, openAPI.router
}

// validateAnswer holds a against the document: the operation's response
// for its status (an undocumented status fails), or, where no operation
// matches (an unknown path or method), the error schema.
func (e *testEnv) validateAnswer(t *testing.T, r *http.Request, a apiAnswer) {
	t.Helper()
	doc, router := e.openAPIDoc(t)
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: %d with Content-Type %q, want JSON: %s", r.Method, r.URL, a.status, ct, a.body)
	}
	route, params, err := router.FindRoute(r)
	if err != nil {
		var v any
		if err := json.Unmarshal(a.body, &v); err != nil {
			t.Fatalf("%s %s: %d %s: %v", r.Method, r.URL, a.status, a.body, err)
		}
		if err := doc.Components.Schemas["ErrorResponse"].Value.VisitJSON(v); err != nil {
			t.Fatalf("%s %s: %d %s is not the error shape: %v", r.Method, r.URL, a.status, a.body, err)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 a.status, Header: a.header, Body: io.NopCloser(bytes.NewReader(a.body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Fatalf("%s %s: %d %s does not match the OpenAPI document: %v", r.Method, r.URL, a.status, a.body, err)
	}
}
