package web

import (
	"net/http"

	"idm/templates"
)

func (s *Server) handleAdminHome(w http.ResponseWriter, r *http.Request) {
	s.renderHome(w, r, "Identity Manager Admin", "Configure how Identity Manager synchronizes people from the directory.", adminSections)
}

func (s *Server) handleOperatorHome(w http.ResponseWriter, r *http.Request) {
	s.renderHome(w, r, "Identity Manager Operator", "Follow the batch synchronization jobs and look up people.", operatorSections)
}

// renderHome renders an area's home page: a heading, an introduction and a
// tile per section.
func (s *Server) renderHome(w http.ResponseWriter, r *http.Request, heading, intro string, sections []section) {
	v := templates.HomeView{
		Chrome:  s.chrome(r, "Home", templates.Crumb{Label: "Home"}),
		Heading: heading, Intro: intro, Tiles: tiles(sections),
	}
	s.render(w, r, http.StatusOK, templates.Home(v))
}
