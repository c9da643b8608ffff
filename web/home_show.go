package web

import (
	"net/http"

	"idm/templates"
)

func (s *Server) handleAdminHome(w http.ResponseWriter, r *http.Request) {
	s.renderHome(w, r, "Identity Manager Admin", "Configure how Identity Manager synchronizes people from the directory.",
		templates.Tile{Title: "Batch Synchronization", Description: "Schedule the LDAP synchronization jobs with cron expressions.", Href: "/admin/batch-sync", TestID: "tile-batch-sync"},
		templates.Tile{Title: "LDAP connection", Description: "Directory address, bind account, filters and attribute mapping.", Href: "/admin/ldap", TestID: "tile-ldap"},
		templates.Tile{Title: "Accounts", Description: "Administrators and operators who sign in to Admin and Operator.", Href: "/admin/accounts", TestID: "tile-accounts"},
		templates.Tile{Title: "API tokens", Description: "Tokens that let programs use the JSON API as an account.", Href: "/admin/tokens", TestID: "tile-tokens"},
		templates.Tile{Title: "Audit", Description: "Who changed what, and when.", Href: "/admin/audit", TestID: "tile-audit"},
		templates.Tile{Title: "Notifications", Description: "Webhooks told when a run fails, stops by a safety check or ends.", Href: "/admin/notifications", TestID: "tile-notifications"},
	)
}

func (s *Server) handleOperatorHome(w http.ResponseWriter, r *http.Request) {
	s.renderHome(w, r, "Identity Manager Operator", "Follow the batch synchronization jobs and look up people.",
		templates.Tile{Title: "Batch jobs", Description: "Status of each batch job, Run now, progress and results.", Href: "/operator/jobs", TestID: "tile-jobs"},
		templates.Tile{Title: "Users", Description: "Search people and see their credentials, certificates and roles.", Href: "/operator/users", TestID: "tile-users"},
	)
}

// renderHome renders an area's home page: a heading, an introduction and a
// tile per section.
func (s *Server) renderHome(w http.ResponseWriter, r *http.Request, heading, intro string, tiles ...templates.Tile) {
	v := templates.HomeView{
		Chrome:  s.chrome(r, "Home", templates.Crumb{Label: "Home"}),
		Heading: heading, Intro: intro, Tiles: tiles,
	}
	s.render(w, r, http.StatusOK, templates.Home(v))
}
