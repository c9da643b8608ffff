package web

import (
	"net/http"

	"idm/templates"
)

func (s *Server) handleAdminHome(w http.ResponseWriter, r *http.Request) {
	v := templates.HomeView{
		Chrome:  s.chrome(r, "Home", templates.Crumb{Label: "Home"}),
		Heading: "Identity Manager Admin",
		Intro:   "Configure how Identity Manager synchronizes people from the directory.",
		Tiles: []templates.Tile{
			{Title: "Batch Synchronization", Description: "Schedule the LDAP synchronization jobs with cron expressions.", Href: "/admin/batch-sync", TestID: "tile-batch-sync"},
			{Title: "LDAP connection", Description: "Directory address, bind account, filters and attribute mapping.", Href: "/admin/ldap", TestID: "tile-ldap"},
			{Title: "Accounts", Description: "Administrators and operators who sign in to Admin and Operator.", Href: "/admin/accounts", TestID: "tile-accounts"},
			{Title: "Audit", Description: "Who changed what, and when.", Href: "/admin/audit", TestID: "tile-audit"},
		},
	}
	s.render(w, r, http.StatusOK, templates.Home(v))
}

func (s *Server) handleOperatorHome(w http.ResponseWriter, r *http.Request) {
	v := templates.HomeView{
		Chrome:  s.chrome(r, "Home", templates.Crumb{Label: "Home"}),
		Heading: "Identity Manager Operator",
		Intro:   "Follow the batch synchronization jobs and look up people.",
		Tiles: []templates.Tile{
			{Title: "Batch jobs", Description: "Status of each batch job, Run now, progress and results.", Href: "/operator/jobs", TestID: "tile-jobs"},
			{Title: "Users", Description: "Search people and see their credentials, certificates and roles.", Href: "/operator/users", TestID: "tile-users"},
		},
	}
	s.render(w, r, http.StatusOK, templates.Home(v))
}
