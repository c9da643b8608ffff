package web

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"
)

// Route is one method on one pattern that the router serves, as chi writes
// it ("/operator/runs/{id}", "/static/*").
type Route struct {
	Method, Pattern string
}

// Routes lists every route of h, a handler New built, sorted by pattern and
// method. The route table test classifies each one (who may call it, how
// the others are refused), so that no route can be added unclassified.
func Routes(h http.Handler) ([]Route, error) {
	router, ok := h.(chi.Routes)
	if !ok {
		return nil, fmt.Errorf("web: routes: %T is not the router New builds", h)
	}
	var routes []Route
	err := chi.Walk(router, func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, Route{Method: method, Pattern: pattern})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: routes: %w", err)
	}
	slices.SortFunc(routes, func(a, b Route) int {
		return cmp.Or(cmp.Compare(a.Pattern, b.Pattern), cmp.Compare(a.Method, b.Method))
	})
	return routes, nil
}
