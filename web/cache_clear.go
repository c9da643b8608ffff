package web

import (
	"net/http"
	"net/url"
	"strings"

	"idm/internal/cluster"
	"idm/internal/domain"
)

// handleCacheClear reloads the Operator cache (audited), tells the other
// instances, and goes back to the Operator page the person was on.
func (s *Server) handleCacheClear(w http.ResponseWriter, r *http.Request) {
	if _, err := s.deps.Cache.Clear(r.Context(), actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.deps.Notify.Notify(r.Context(), cluster.TopicCache)
	s.log.Info("operator cache cleared", "by", actor(r))
	s.redirectWithFlash(w, r, backToOperator(r), "Cache cleared: job definitions and settings reloaded.")
}

// backToOperator is the Operator page named by the Referer when it is one of
// ours (domain.SafeRedirectPath, the sign-in's rule) on this host, else Batch
// jobs: never a redirect to another site or out of Operator.
func backToOperator(r *http.Request) string {
	const fallback = "/operator/jobs"
	u, err := url.Parse(r.Referer())
	if err != nil || r.Referer() == "" || u.Host != "" && u.Host != r.Host {
		return fallback
	}
	target := u.EscapedPath()
	if u.RawQuery != "" {
		target += "?" + u.RawQuery
	}
	p, ok := domain.SafeRedirectPath(target)
	if !ok || u.Path != "/operator" && !strings.HasPrefix(u.Path, "/operator/") {
		return fallback
	}
	return p
}
