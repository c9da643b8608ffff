package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"idm/internal/store"
)

// Options are what the metrics read.
type Options struct {
	// Store gives the database gauges; Pools are the connection pools
	// whose statistics are reported (store.DB.SQLPools).
	Store Store
	Pools []store.SQLPool
	// Counters are the engine observer's run counters.
	Counters *RunCounters
	// Location is the zone of the cron expressions (the scheduler's).
	Location *time.Location
	// StaleAfter is the engine's: a running run with an older heartbeat
	// is not counted as running.
	StaleAfter time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
}

// NewRegistry registers the run counters, the database gauges, and the Go,
// process and connection-pool collectors.
func NewRegistry(o Options) (*prometheus.Registry, error) {
	if o.Store == nil || o.Counters == nil || o.Location == nil || o.Now == nil || o.Logger == nil {
		return nil, errors.New("metrics: Options need Store, Counters, Location, Now and Logger")
	}
	reg := prometheus.NewRegistry()
	cs := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		o.Counters,
		&Collector{st: o.Store, loc: o.Location, staleAfter: o.StaleAfter, now: o.Now, log: o.Logger, timeout: 5 * time.Second},
	}
	for _, p := range o.Pools {
		cs = append(cs, collectors.NewDBStatsCollector(p.DB, p.Name))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	return reg, nil
}

// Server serves GET /metrics on its own listener, apart from the pages
// (so that the metrics can stay on a private network).
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// NewServer serves reg's metrics on ln once Serve is called.
func NewServer(ln net.Listener, reg *prometheus.Registry, log *slog.Logger) *Server {
	mux := http.NewServeMux()
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      errLog,
		ErrorHandling: promhttp.ContinueOnError,
		Timeout:       10 * time.Second,
	}))
	return &Server{ln: ln, srv: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          errLog,
	}}
}

// URL is where the metrics are served.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() + "/metrics" }

// Serve serves until Shutdown.
func (s *Server) Serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: serve: %w", err)
	}
	return nil
}

// Shutdown stops serving, letting a scrape in flight finish until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	_ = s.ln.Close() // when Serve never ran
	if err != nil {
		return fmt.Errorf("metrics: shutdown: %w", err)
	}
	return nil
}
