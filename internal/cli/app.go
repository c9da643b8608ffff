package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"idm/internal/auth"
	"idm/internal/cluster"
	"idm/internal/config"
	"idm/internal/demo"
	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/metrics"
	"idm/internal/notify"
	"idm/internal/opcache"
	"idm/internal/scheduler"
	"idm/internal/secret"
	"idm/internal/store"
	"idm/web"
)

// app is the server, the program's one composition root: openApp wires and
// starts the components in order (store, listeners, notification worker,
// engine, demo, scheduler, Operator cache, cluster bus, metrics, web), run
// serves until ctx ends and joins every goroutine it started, and close
// stops the components in reverse order.
type app struct {
	io  IO
	cfg *config.Config
	log *slog.Logger

	db    *store.DB
	box   *secret.Box
	eng   *engine.Engine
	demo  *demo.Demo
	sched *scheduler.Scheduler
	cache *opcache.Cache
	// bus is nil on SQLite: a single instance has nobody to tell.
	bus *cluster.Bus
	srv *http.Server
	ln  net.Listener
	// notifier delivers webhook notices; notifyStop ends its loop (after
	// the engine has shut down, so that the last runs' notices go out).
	notifier   *notify.Worker
	notifyCtx  context.Context
	notifyStop context.CancelFunc
	// counters are the engine's run counters; metricsLn and metrics are
	// nil when no metrics address is configured.
	counters  *metrics.RunCounters
	metricsLn net.Listener
	metrics   *metrics.Server

	stopOnce sync.Once
	stopErr  error
}

// openApp opens the store (applying migrations) and starts every component
// but the HTTP server, which run starts. On an error, what was started is
// stopped again.
func openApp(ctx context.Context, st *setup) (a *app, err error) {
	db, err := st.open(ctx)
	if err != nil {
		return nil, err
	}
	a = &app{io: st.io, cfg: &st.cfg, log: slog.Default(), db: db}
	defer func() {
		if err != nil {
			err, a = errors.Join(err, a.close()), nil
		}
	}()
	slog.Info("starting", a.cfg.LogAttrs()...)
	if a.box, err = a.cfg.SecretBox(); err != nil {
		return a, err
	}
	a.notifyCtx, a.notifyStop = context.WithCancel(context.WithoutCancel(ctx))
	for _, open := range []func(context.Context) error{
		a.openListeners, a.openNotify, a.openEngine, a.openDemo, a.openScheduler, a.openCluster, a.openMetrics, a.openWeb,
	} {
		if err := open(ctx); err != nil {
			return a, err
		}
	}
	return a, nil
}

// openListeners binds the HTTP address and the metrics address (before
// anything that needs to know them: the links in notices).
func (a *app) openListeners(context.Context) error {
	var err error
	if a.ln, err = net.Listen("tcp", a.cfg.Listen); err != nil {
		return fmt.Errorf("serve: listen on %s: %w", a.cfg.Listen, err)
	}
	a.metricsLn, err = listenMetrics(a.cfg, a.log)
	return err
}

// listenMetrics binds the metrics address: --metrics-listen, or in demo
// mode config.DemoMetrics (a free loopback port when that one is taken);
// nil when metrics are off.
func listenMetrics(cfg *config.Config, log *slog.Logger) (net.Listener, error) {
	addr := cfg.MetricsListen
	if addr == "" && !cfg.Demo {
		return nil, nil
	}
	if addr == "" {
		ln, err := net.Listen("tcp", config.DemoMetrics)
		if err == nil {
			return ln, nil
		}
		log.Info("the demo's metrics port is taken: serving metrics on a free loopback port", "addr", config.DemoMetrics, "err", err)
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serve: listen for metrics on %s: %w", addr, err)
	}
	return ln, nil
}

func (a *app) openNotify(context.Context) error {
	var err error
	a.notifier, err = notify.New(notify.Options{
		Store: a.db, OpenSecret: a.box.Open, PublicURL: a.cfg.PublicBase(a.ln.Addr().String()),
		Instance: a.cfg.Instance, Now: a.db.Now, Logger: a.log,
	})
	return err
}

func (a *app) openEngine(ctx context.Context) error {
	a.counters = metrics.NewRunCounters()
	a.eng = engine.New(engine.Deps{
		DB: a.db, Dial: engine.DialDirectory, OpenSecret: a.box.Open, Instance: a.cfg.Instance,
		Now: a.db.Now, Logger: a.log, ShutdownGrace: a.cfg.ShutdownGrace, StaleAfter: a.cfg.RunStaleAfter,
		Observer: engine.Observers{a.counters, a.notifier},
	})
	// Runs this instance left "running" when it died are aborted before any new run.
	_, err := a.eng.Recover(ctx)
	return err
}

// openDemo sets demo mode up (accounts, directory, sample people), or warns
// that nobody can sign in yet.
func (a *app) openDemo(ctx context.Context) error {
	if !a.cfg.Demo {
		accounts, err := a.db.ListAccounts(ctx)
		if err == nil && len(accounts) == 0 {
			a.log.Warn("no account exists yet: create one with `idm account create --role administrator NAME`")
		}
		return err
	}
	if err := ensureDemoAccounts(ctx, a.db, a.io); err != nil {
		return err
	}
	var err error
	a.demo, err = demo.Setup(ctx, a.db, a.box, a.log, a.cfg.DemoLDAPAddr)
	return err
}

// openScheduler starts the scheduler. A scheduled run happens once across
// every instance on the database without a lock held for the run: the
// store's compare-and-set on the job's fired slot gives each slot to one
// instance, and the engine's run records keep runs from overlapping (a lock
// held by a frozen instance would stop the schedule everywhere).
func (a *app) openScheduler(ctx context.Context) error {
	opts := scheduler.Options{Location: a.cfg.Location, Logger: a.log}
	sched, err := scheduler.New(a.db, a.eng, opts)
	if err != nil {
		return err
	}
	a.sched = sched // stopped by close even when Start fails
	return sched.Start(ctx)
}

func (a *app) openCluster(context.Context) error {
	a.cache = opcache.New(a.db, a.cfg.Location, a.db.Now)
	if a.db.Dialect == store.DialectPostgres {
		a.bus = cluster.New(a.cfg.DatabaseURL, a.cfg.Instance, a.log, a.db)
	}
	return nil
}

// openMetrics registers the metrics when an address is configured.
func (a *app) openMetrics(context.Context) error {
	if a.metricsLn == nil {
		return nil
	}
	reg, err := metrics.NewRegistry(metrics.Options{
		Store: a.db, Pools: a.db.SQLPools(), Counters: a.counters, Location: a.cfg.Location,
		StaleAfter: engine.DefaultStaleAfter, Now: a.db.Now, Logger: a.log,
	})
	if err != nil {
		return err
	}
	a.metrics = metrics.NewServer(a.metricsLn, reg, a.log)
	return nil
}

func (a *app) openWeb(context.Context) error {
	deps := web.Deps{
		Store: a.db, Auth: auth.New(a.db, a.db.Now, a.cfg.SessionIdle, a.cfg.SessionMax), Box: a.box,
		Tokens:    auth.NewTokens(a.db, a.db.Now),
		Scheduler: a.sched, Engine: a.eng, Cache: a.cache, Webhooks: a.notifier,
		Location: a.cfg.Location, Now: a.db.Now, Logger: a.log, Demo: a.cfg.Demo, SecureCookies: a.cfg.TLSCert != "",
	}
	if a.bus != nil {
		deps.Notify = a.bus
	}
	handler, err := web.New(deps)
	if err != nil {
		return err
	}
	a.srv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	return nil
}

// run serves HTTP, follows the other instances' announcements, expires
// sessions and watches for runs other instances left behind until ctx ends or one of them fails; then it stops the server,
// the scheduler and the engine (in that order) and joins every goroutine.
func (a *app) run(ctx context.Context) error {
	scheme := "http"
	if a.cfg.TLSCert != "" {
		scheme = "https"
	}
	addr := a.ln.Addr().String()
	fmt.Fprintf(a.io.Stdout, "Identity Manager is listening: sign in at %s://%s/login (Admin: /admin, Operator: /operator)\n", scheme, addr)
	if a.metrics != nil {
		fmt.Fprintf(a.io.Stdout, "Metrics for Prometheus: %s\n", a.metrics.URL())
	}
	if a.io.Ready != nil {
		a.io.Ready(addr)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(a.serveHTTP)
	if a.metrics != nil {
		g.Go(a.metrics.Serve)
	}
	g.Go(func() error { return a.notifier.Run(a.notifyCtx) })
	if a.bus != nil {
		g.Go(func() error {
			a.bus.Listen(gctx, func(topic string) { a.applyClusterChange(gctx, topic) })
			return nil
		})
	}
	g.Go(func() error {
		a.expireSessions(gctx)
		return nil
	})
	g.Go(func() error {
		a.eng.Watch(gctx)
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		return a.stop()
	})
	return g.Wait()
}

func (a *app) serveHTTP() error {
	var err error
	if a.cfg.TLSCert != "" {
		err = a.srv.ServeTLS(a.ln, a.cfg.TLSCert, a.cfg.TLSKey)
	} else {
		err = a.srv.Serve(a.ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("serve: %w", err)
}

// stop stops taking requests (those in flight get the grace period), stops
// the scheduler firing, then gives the runs in progress the grace period and
// cancels what is left (recorded as aborted); then it stops the
// notification worker (what it has not sent waits in the outbox) and the
// metrics server. It runs once.
func (a *app) stop() error {
	a.stopOnce.Do(func() {
		a.log.Info("shutting down")
		grace := a.cfg.ShutdownGrace
		var errs []error
		if a.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), grace)
			if err := a.srv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("serve: shutdown: %w", err))
			}
			cancel()
		}
		if a.ln != nil {
			_ = a.ln.Close() // when Serve never ran
		}
		// The grace period, then 30 s for cancelled runs to record their end.
		ctx, cancel := context.WithTimeout(context.Background(), grace+30*time.Second)
		defer cancel()
		if a.sched != nil {
			if err := a.sched.Stop(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		if a.eng != nil {
			if err := a.eng.Shutdown(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		if a.notifyStop != nil {
			a.notifyStop()
		}
		if a.metrics != nil {
			if err := a.metrics.Shutdown(ctx); err != nil {
				errs = append(errs, err)
			}
		} else if a.metricsLn != nil {
			_ = a.metricsLn.Close()
		}
		a.stopErr = errors.Join(errs...)
	})
	return a.stopErr
}

// close stops the components (when run did not) and closes the demo
// directory and the store, last.
func (a *app) close() error {
	errs := []error{a.stop()}
	if a.demo != nil {
		errs = append(errs, a.demo.Close())
	}
	a.db.Close()
	return errors.Join(errs...)
}

// applyClusterChange follows a change another instance announced. After a
// reconnect (resync) everything is re-read, since announcements sent while
// disconnected are lost.
func (a *app) applyClusterChange(ctx context.Context, topic string) {
	switch topic {
	case cluster.TopicJobs:
		a.cache.Changed()
		a.rescheduleAll(ctx)
	case cluster.TopicCache:
		a.reloadCache(ctx)
	case cluster.TopicSettings:
		// The engine and the Admin pages read the settings from the
		// database each time, and the Operator cache shows a save only
		// after a Clear cache, as on the instance that saved it: its
		// "changed since" notice asks the database again at once.
		a.cache.Changed()
		a.log.Debug("cluster: LDAP settings saved on another instance")
	case cluster.TopicResync:
		a.rescheduleAll(ctx)
		a.reloadCache(ctx)
	default:
		a.log.Warn("cluster: unknown topic announced", "topic", topic)
	}
}

// rescheduleAll re-reads every job definition into the scheduler.
func (a *app) rescheduleAll(ctx context.Context) {
	for _, key := range domain.JobKeys {
		if err := a.sched.Reschedule(ctx, key); err != nil {
			a.log.Error("reschedule after a change on another instance", "job", key, "err", err)
		}
	}
}

// reloadCache reloads the Operator cache after a Clear cache elsewhere.
func (a *app) reloadCache(ctx context.Context) {
	if err := a.cache.Reload(ctx); err != nil {
		a.log.Error("reload the Operator cache after a Clear cache on another instance", "err", err)
	}
}

// expireSessions removes ended sessions every few minutes, until ctx ends.
func (a *app) expireSessions(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Minute):
		}
		n, err := a.db.DeleteExpiredSessions(ctx, a.db.Now(), a.cfg.SessionIdle)
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Warn("expire sessions", "err", err)
		case n > 0:
			a.log.Debug("expired sessions", "count", n)
		}
	}
}
