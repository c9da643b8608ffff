package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"idm/internal/domain"
	"idm/templates"
)

// section is one part of Admin or Operator: a tile on the area's Home and a
// link in the header. Adding a part is one entry in adminSections or
// operatorSections.
type section struct {
	Title       string // the tile's title and the header link
	Description string // the tile's text
	Href        string
	ID          string // names the tile (tile-ID) and the header link (nav-ID) in tests
}

var adminSections = []section{
	{"Batch Synchronization", "Schedule the LDAP synchronization jobs with cron expressions.", "/admin/batch-sync", "batch-sync"},
	{"LDAP connection", "Directory address, bind account, filters and attribute mapping.", "/admin/ldap", "ldap"},
	{"Accounts", "Administrators and operators who sign in to Admin and Operator.", "/admin/accounts", "accounts"},
	{"API tokens", "Tokens that let programs use the JSON API as an account.", "/admin/tokens", "tokens"},
	{"Audit", "Who changed what, and when: saves, runs started, caches cleared.", "/admin/audit", "audit"},
	{"Notifications", "Webhooks told when a run fails, stops by a safety check or ends.", "/admin/notifications", "notifications"},
}

var operatorSections = []section{
	{"Batch jobs", "Status of each batch job, Run now, progress and results.", "/operator/jobs", "jobs"},
	{"Users", "Search people and see their credentials, certificates and roles.", "/operator/users", "users"},
}

// areaOf is the area a path belongs to: "admin", "operator" or "".
func areaOf(path string) string {
	for _, a := range []string{"admin", "operator"} {
		if path == "/"+a || strings.HasPrefix(path, "/"+a+"/") {
			return a
		}
	}
	return ""
}

// chrome builds the page frame for the signed-in account and takes the
// session's one-time message. The frame is the area of the page asked for,
// or, for an area the account may not use (a refusal), the account's own.
func (s *Server) chrome(r *http.Request, title string, crumbs ...templates.Crumb) templates.Chrome {
	c := templates.Chrome{Title: title, Crumbs: crumbs, Demo: s.deps.Demo, Area: areaOf(r.URL.Path)}
	if a := accountFrom(r.Context()); a != nil {
		c.Account, c.Role = a.Username, string(a.Role)
		if c.Area == "" || c.Area == "admin" && !a.Role.CanAdminister() {
			c.Area = areaOf(roleHome(a.Role))
		}
		c.Sections, c.Switch = navigation(c.Area, r.URL.Path, a.Role)
	} else {
		c.Area = ""
	}
	if sess := sessionFrom(r.Context()); sess != nil && sess.Flash != "" && !isHTMX(r) {
		c.Flash = sess.Flash
		if err := s.deps.Store.SetFlash(r.Context(), sess.TokenHash, ""); err != nil {
			s.log.Error("clear flash", "err", err)
		}
	}
	if c.Area == "operator" {
		loaded, stale := s.deps.Cache.Status(r.Context())
		c.CacheLoaded = s.formatTime(loaded)
		c.CacheStale = stale
	}
	return c
}

// navigation is the header's links in area for an account of role at path:
// the area's sections, and the other area when role may use it.
func navigation(area, path string, role domain.AccountRole) ([]templates.NavItem, *templates.NavItem) {
	sections, other := operatorSections, &templates.NavItem{Label: "Admin", Href: "/admin", TestID: "nav-admin"}
	if area == "admin" {
		sections, other = adminSections, &templates.NavItem{Label: "Operator", Href: "/operator", TestID: "nav-operator"}
	}
	if !role.CanAdminister() {
		other = nil
	}
	items := make([]templates.NavItem, len(sections))
	for i, sc := range sections {
		items[i] = templates.NavItem{Label: sc.Title, Href: sc.Href, TestID: "nav-" + sc.ID,
			Current: path == sc.Href || strings.HasPrefix(path, sc.Href+"/")}
	}
	return items, other
}

// tiles are the Home tiles of sections.
func tiles(sections []section) []templates.Tile {
	out := make([]templates.Tile, len(sections))
	for i, sc := range sections {
		out[i] = templates.Tile{Title: sc.Title, Description: sc.Description, Href: sc.Href, TestID: "tile-" + sc.ID}
	}
	return out
}

// formatTime shows a time in the configured zone, as everywhere.
func (s *Server) formatTime(t time.Time) string { return domain.FormatTime(t, s.deps.Location) }

// errorText is err's message for a person, in the pages' terms: a refused
// start names the running process and its start in the configured zone.
func (s *Server) errorText(r *http.Request, err error) string {
	var rip *domain.RunInProgress
	if errors.As(err, &rip) {
		snap, _ := s.opSnapshot(r.Context()) // only for the process's name
		return rip.Text(s.deps.Location, func(k domain.JobKey) string { return processName(snap, k) })
	}
	return domain.ErrorMessage(err)
}
