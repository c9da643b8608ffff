package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"idm/internal/auth"
	"idm/internal/domain"
	"idm/web"
)

// The route table: every route the router serves (web.Routes walks it), for
// every role and method, is allowed or refused exactly as designed. A route
// that no rule below classifies fails the test, so a new route cannot be
// added without saying who may call it.

// access says who may call a route.
type access int

const (
	// accessPublic: anyone, signed in or not.
	accessPublic access = iota
	// accessOperators: operators and administrators; anyone else is sent
	// to sign in (a page) or refused with 401.
	accessOperators
	// accessAdministrators: administrators; an operator is refused with
	// 403, anyone else as for accessOperators.
	accessAdministrators
	// accessToken: the JSON API, which takes a bearer token only. No
	// cookie ever authenticates there: a session alone gets 401.
	accessToken
)

// routeRule classifies the routes whose pattern is pattern or, when it ends
// in "/**", starts with it.
type routeRule struct {
	pattern string
	access  access
	// api: the JSON API, mounted outside the sessions and the CSRF check
	// (no cookie counts there, so there is nothing to forge).
	api bool
	// signedInGet is what a plain GET answers an account allowed here,
	// when not 200 (a page that sends the account on).
	signedInGet int
	// anonymousGet is the same for someone not signed in.
	anonymousGet int
}

var routeRules = []routeRule{
	{pattern: "/healthz", access: accessPublic},
	{pattern: "/readyz", access: accessPublic},
	{pattern: "/static/*", access: accessPublic},
	// Sign-in shows its form, or sends a signed-in account on.
	{pattern: "/login", access: accessPublic, signedInGet: http.StatusSeeOther},
	// The root sends everyone to their home or to sign in.
	{pattern: "/", access: accessPublic, signedInGet: http.StatusSeeOther, anonymousGet: http.StatusSeeOther},
	// Ending a session needs none.
	{pattern: "/logout", access: accessPublic},
	{pattern: "/admin/**", access: accessAdministrators},
	{pattern: "/operator/**", access: accessOperators},
	{pattern: "/api/v1/**", access: accessToken, api: true},
	// The API's OpenAPI document is public: it says how to call, not what is stored.
	{pattern: "/api/v1/openapi.json", access: accessPublic, api: true},
}

func (r routeRule) matches(pattern string) bool {
	prefix, ok := strings.CutSuffix(r.pattern, "/**")
	if !ok {
		return pattern == r.pattern
	}
	return pattern == prefix || strings.HasPrefix(pattern, prefix+"/")
}

// classify is the rule for pattern: the one that names it exactly, else
// the one prefix rule that covers it; none or two is an error.
func classify(pattern string) (routeRule, error) {
	var exact, prefix []routeRule
	for _, r := range routeRules {
		switch {
		case r.pattern == pattern:
			exact = append(exact, r)
		case r.matches(pattern):
			prefix = append(prefix, r)
		}
	}
	if len(exact) == 1 {
		return exact[0], nil
	}
	if len(exact) == 0 && len(prefix) == 1 {
		return prefix[0], nil
	}
	return routeRule{}, fmt.Errorf("%d rules classify the route %s (%v): add exactly one to routeRules", len(exact)+len(prefix), pattern, append(exact, prefix...))
}

// role is who sends a request: an account, or nobody ("anonymous").
type role struct {
	name    string
	account domain.AccountRole // "" for anonymous
}

var routeRoles = []role{{"anonymous", ""}, {"olga", domain.RoleOperator}, {"adam", domain.RoleAdministrator}}

// allowedFor says whether rule lets ro in.
func (r routeRule) allowedFor(ro role) bool {
	switch r.access {
	case accessPublic:
		return true
	case accessOperators:
		return ro.account.CanOperate()
	case accessAdministrators:
		return ro.account.CanAdminister()
	}
	return false
}

// outcome is how a request must be answered.
type outcome int

const (
	outcomeAllowed      outcome = iota // the handler answers (not refused, never a 500)
	outcomeNoMethod                    // 405: the route does not take the method
	outcomeToSignIn                    // 303 to the login page, which comes back here
	outcomeUnauthorized                // 401
	outcomeForbidden                   // 403: the account's role may not
	outcomeCrossSite                   // 403: refused as a cross-site request (CSRF)
	// outcomeMethodOrCrossSite: a method the route does not take, sent
	// cross-site: 405 or 403, whichever check comes first.
	outcomeMethodOrCrossSite
)

var outcomeNames = []string{"allowed", "405", "to sign-in", "401", "403 role", "403 cross-site", "405 or 403 cross-site"}

func (o outcome) String() string { return outcomeNames[o] }

// variant is how a request is sent besides its method and role.
type variant struct {
	name   string
	header http.Header
}

var (
	plainRequest = variant{"plain", nil}
	// A browser's own form post; plain is a client that is no browser,
	// which the CSRF check lets through (it has no cookie to abuse).
	sameOrigin  = variant{"same-origin", http.Header{"Sec-Fetch-Site": {"same-origin"}}}
	htmxRequest = variant{"htmx", http.Header{"Hx-Request": {"true"}}}
	// A browser sends one of these with every cross-site POST.
	crossSiteFetch  = variant{"cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}}}
	crossSiteOrigin = variant{"other-origin", http.Header{"Origin": {"https://evil.example"}}}
)

// expect is the designed answer to ro sending method to a route of rule
// (registered: the route takes the method) as v.
func expect(rule routeRule, ro role, method string, registered bool, v variant) outcome {
	if rule.api {
		// The API never reads a cookie: a method it does not take is 405,
		// anything else is 401 without a token.
		switch {
		case !registered:
			return outcomeNoMethod
		case rule.access == accessToken:
			return outcomeUnauthorized
		}
		return outcomeAllowed
	}
	if v.header.Get("Sec-Fetch-Site") == "cross-site" || v.header.Get("Origin") != "" {
		if !registered {
			return outcomeMethodOrCrossSite
		}
		return outcomeCrossSite
	}
	switch {
	case rule.allowedFor(ro) && registered:
		return outcomeAllowed
	case rule.allowedFor(ro):
		return outcomeNoMethod
	case ro.account != "":
		return outcomeForbidden
	case method == http.MethodGet && v.name == plainRequest.name:
		return outcomeToSignIn
	}
	return outcomeUnauthorized
}

// variantsFor are the ways each method is sent: plain; a GET also as htmx;
// anything that may change state also as a browser's same-origin post and
// cross-site, both as a browser marks it (Sec-Fetch-Site) and as an older
// one does (Origin alone). A request with neither header is not a
// browser's and passes the CSRF check (http.CrossOriginProtection).
func variantsFor(method string) []variant {
	switch method {
	case http.MethodGet:
		return []variant{plainRequest, htmxRequest}
	case http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodConnect:
		return []variant{plainRequest}
	}
	return []variant{plainRequest, sameOrigin, crossSiteFetch, crossSiteOrigin}
}

// triedMethods are the methods tried on every route besides its own.
var triedMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

func TestRouteTable(t *testing.T) {
	e := newEnv(t, envOptions{accounts: opAccounts, statements: true})
	rt := newRouteTable(t, e)
	routes, err := web.Routes(e.h)
	if err != nil {
		t.Fatal(err)
	}
	methods := map[string][]string{}
	var patterns []string
	for _, r := range routes {
		if methods[r.Pattern] == nil {
			patterns = append(patterns, r.Pattern)
		}
		methods[r.Pattern] = append(methods[r.Pattern], r.Method)
	}
	tried := 0
	for _, pattern := range patterns {
		rule, err := classify(pattern)
		if err != nil {
			t.Error(err)
			continue
		}
		path, err := rt.samplePath(pattern, rule)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, method := range union(methods[pattern], triedMethods) {
			registered := slices.Contains(methods[pattern], method)
			for _, ro := range routeRoles {
				for _, v := range variantsFor(method) {
					want := expect(rule, ro, method, registered, v)
					t.Run(fmt.Sprintf("%s %s as %s (%s) %s", method, pattern, ro.name, v.name, want), func(t *testing.T) {
						rt.check(t, rule, ro, method, path, v, want)
					})
					tried++
				}
			}
		}
	}
	t.Logf("%d routes (%d patterns) × %d roles × methods and variants: %d requests", len(routes), len(patterns), len(routeRoles), tried)
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// routeTable sends the table's requests: it holds the sample records the
// routes name and each account's session.
type routeTable struct {
	e        *testEnv
	samples  map[string]string // pattern → a path that names a stored record
	sessions map[string]*http.Cookie
}

func newRouteTable(t *testing.T, e *testEnv) *routeTable {
	run := e.finishedRun(t, domain.JobActive, domain.RunSucceeded)
	ann := e.importedUser(t, "ann")
	hook, deleted := e.storedWebhook(t), e.storedWebhook(t) // Delete takes its own
	e.createAccounts([]account{{"bob", domain.RoleOperator}})
	_, token := e.storedAPIToken(t, "bob", "deploy")
	return &routeTable{e: e, sessions: map[string]*http.Cookie{}, samples: map[string]string{
		"/static/*":                        "/static/js/htmx.min.js",
		"/admin/accounts/{name}/disable":   "/admin/accounts/bob/disable",
		"/admin/accounts/{name}/disabled":  "/admin/accounts/bob/disabled",
		"/admin/accounts/{name}/role":      "/admin/accounts/bob/role",
		"/admin/batch-sync/{key}":          "/admin/batch-sync/active",
		"/admin/batch-sync/{key}/check":    "/admin/batch-sync/active/check",
		"/admin/notifications/{id}":        "/admin/notifications/" + hook.ID,
		"/admin/notifications/{id}/delete": "/admin/notifications/" + deleted.ID + "/delete",
		"/admin/notifications/{id}/test":   "/admin/notifications/" + hook.ID + "/test",
		"/admin/tokens/{id}/revoke":        "/admin/tokens/" + token.ID + "/revoke",
		"/operator/jobs/{key}/run":         "/operator/jobs/active/run",
		"/operator/jobs/{key}/runs":        "/operator/jobs/active/runs",
		"/operator/jobs/{key}/status":      "/operator/jobs/active/status",
		"/operator/runs/{id}":              "/operator/runs/" + run.ID,
		"/operator/runs/{id}/items.csv":    "/operator/runs/" + run.ID + "/items.csv",
		"/operator/users/{id}":             "/operator/users/" + ann.ID,
	}}
}

// samplePath is a path that pattern serves, naming stored records. The
// API's need none: no request gets past its token check.
func (rt *routeTable) samplePath(pattern string, rule routeRule) (string, error) {
	if p, ok := rt.samples[pattern]; ok {
		return p, nil
	}
	if !strings.ContainsAny(pattern, "{*") {
		return pattern, nil
	}
	if rule.api {
		return strings.NewReplacer("{", "", "}", "", "*", "x").Replace(pattern), nil
	}
	return "", fmt.Errorf("no sample path for the route %s: add one, naming a stored record, to newRouteTable's samples", pattern)
}

// session is ro's session cookie, signing in again when a request (sign-out,
// a new sign-in) ended the last one.
func (rt *routeTable) session(t *testing.T, ro role) *http.Cookie {
	if ro.account == "" {
		return nil
	}
	if c := rt.sessions[ro.name]; c != nil {
		if _, _, err := rt.e.db.SessionAccount(context.Background(), auth.HashToken(c.Value)); err == nil {
			return c
		}
	}
	c := rt.e.signIn(t, ro.name).session()
	rt.sessions[ro.name] = c
	return c
}

func (rt *routeTable) check(t *testing.T, rule routeRule, ro role, method, path string, v variant, want outcome) {
	req := httptest.NewRequest(method, path, nil)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range v.header {
		req.Header[k] = vs
	}
	if c := rt.session(t, ro); c != nil {
		req.AddCookie(c)
	}
	before := rt.e.statements.Len()
	res := serve(rt.e.h, req)
	body := res.Body.String()
	if res.Code >= 500 {
		t.Fatalf("status %d: %.400s", res.Code, body)
	}
	if want == outcomeAllowed {
		rt.checkAllowed(t, rule, ro, method, v, res)
		rt.waitIdle(t)
		return
	}
	checkRefused(t, rule, path, want, v, res)
	assertWritesOnly(t, writesIn(rt.e.statements.Since(before)), "sessions")
}

// checkAllowed: the handler answered, not a refusal, and a plain GET gives
// the page (or the rule's redirect).
func (rt *routeTable) checkAllowed(t *testing.T, rule routeRule, ro role, method string, v variant, res *httptest.ResponseRecorder) {
	for _, refusal := range []outcome{outcomeNoMethod, outcomeToSignIn, outcomeUnauthorized, outcomeForbidden, outcomeCrossSite} {
		if refusedAs(refusal, res) {
			t.Fatalf("refused (%s, status %d): %.400s", refusal, res.Code, res.Body)
		}
	}
	if method != http.MethodGet || v.name != plainRequest.name {
		return
	}
	want := http.StatusOK
	switch {
	case ro.account != "" && rule.signedInGet != 0:
		want = rule.signedInGet
	case ro.account == "" && rule.anonymousGet != 0:
		want = rule.anonymousGet
	}
	if res.Code != want {
		t.Fatalf("GET: status %d, want %d: %.400s", res.Code, want, res.Body)
	}
}

// refusedAs says whether res is the refusal o, by its status and the
// message or header the refusing middleware sets.
func refusedAs(o outcome, res *httptest.ResponseRecorder) bool {
	body := res.Body.String()
	switch o {
	case outcomeNoMethod:
		return res.Code == http.StatusMethodNotAllowed
	case outcomeToSignIn:
		return res.Code == http.StatusSeeOther && strings.HasPrefix(res.Header().Get("Location"), "/login?next=")
	case outcomeUnauthorized:
		return res.Code == http.StatusUnauthorized && (strings.Contains(body, "Sign in to continue.") || strings.Contains(res.Header().Get("Content-Type"), "json"))
	case outcomeForbidden:
		return res.Code == http.StatusForbidden && strings.Contains(body, "This page is for administrators.")
	case outcomeCrossSite:
		return res.Code == http.StatusForbidden && strings.Contains(body, "This request came from another site and was refused.")
	case outcomeMethodOrCrossSite:
		return refusedAs(outcomeNoMethod, res) || refusedAs(outcomeCrossSite, res)
	}
	return false
}

// checkRefused: res is the refusal want; sign-in comes back to path, and
// htmx on a page is told to go to sign-in.
func checkRefused(t *testing.T, rule routeRule, path string, want outcome, v variant, res *httptest.ResponseRecorder) {
	if !refusedAs(want, res) {
		t.Fatalf("status %d, Location %q, want %s: %.400s", res.Code, res.Header().Get("Location"), want, res.Body)
	}
	switch {
	case want == outcomeToSignIn:
		if loc := res.Header().Get("Location"); loc != "/login?next="+url.QueryEscape(path) {
			t.Errorf("sign-in goes to %q, which does not come back to %s", loc, path)
		}
	case want == outcomeUnauthorized && v.name == htmxRequest.name && !rule.api:
		if to := res.Header().Get("HX-Redirect"); to != "/login" {
			t.Errorf("HX-Redirect %q, want /login", to)
		}
	}
}

// isWrite says whether sql changes a table.
func isWrite(sql string) bool {
	verb, _, _ := strings.Cut(strings.TrimSpace(sql), " ")
	switch strings.ToUpper(verb) {
	case "INSERT", "UPDATE", "DELETE":
		return true
	}
	return false
}

// waitIdle waits until no run is in progress, so that what an allowed
// request started writes nothing during the next request.
func (rt *routeTable) waitIdle(t *testing.T) {
	deadline := time.Now().Add(10 * time.Second)
	for _, key := range []domain.JobKey{domain.JobActive, domain.JobInactive} {
		for _, running := rt.e.eng.Status(key); running; _, running = rt.e.eng.Status(key) {
			if time.Now().After(deadline) {
				t.Fatalf("the %s job is still running", key)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// The job is free as soon as the run ends; its final record (and the
	// notices enqueued with it) may be written a moment later.
	for {
		runs, err := rt.e.db.RunningRuns(context.Background(), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s has no final record", runs[0].ID)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
