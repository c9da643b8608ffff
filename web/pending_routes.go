package web

// Route groups whose pages are being written in this session; each is
// removed from this file as its own file lands.

import "github.com/go-chi/chi/v5"

func (s *Server) mountAdminAudit(chi.Router) {}
