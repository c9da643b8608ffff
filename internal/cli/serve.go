package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"idm/internal/auth"
	"idm/internal/cluster"
	"idm/internal/config"
	"idm/internal/demo"
	"idm/internal/domain"
	"idm/internal/engine"
	"idm/internal/opcache"
	"idm/internal/scheduler"
	"idm/internal/store"
	"idm/web"
)

func runServe(ctx context.Context, io IO, args []string) error {
	var cfg config.Config
	fs := newFlagSet("serve", io)
	cfg.Register(fs, io.Getenv)
	cfg.RegisterServe(fs, io.Getenv)
	if err := parse(fs, args); err != nil {
		return err
	}
	db, err := openStore(ctx, &cfg, io)
	if err != nil {
		return err
	}
	defer db.Close()
	slog.Info("starting", cfg.LogAttrs()...)
	box, err := cfg.SecretBox()
	if err != nil {
		return err
	}
	log := slog.Default()

	eng := engine.New(engine.Deps{DB: db, Dial: engine.DialDirectory, OpenSecret: box.Open, Instance: cfg.Instance, Logger: log})
	// Runs this instance left "running" when it died are aborted before any new run.
	if _, err := eng.Recover(ctx); err != nil {
		return err
	}

	if cfg.Demo {
		if err := ensureDemoAccounts(ctx, db, io); err != nil {
			return err
		}
		d, err := demo.Setup(ctx, db, box, log, cfg.DemoLDAPAddr)
		if err != nil {
			return err
		}
		defer d.Close()
	} else if accounts, err := db.ListAccounts(ctx); err != nil {
		return err
	} else if len(accounts) == 0 {
		log.Warn("no account exists yet: create one with `idm account create --role administrator NAME`")
	}

	schedOpts := scheduler.Options{Location: cfg.Location, Logger: log, ShutdownGrace: cfg.ShutdownGrace}
	if db.Dialect == store.DialectPostgres {
		// A scheduled run happens once across every instance on this database.
		schedOpts.Locker = scheduler.NewPGLocker(db.SQL())
	}
	sched, err := scheduler.New(db, eng, schedOpts)
	if err != nil {
		return err
	}
	if err := sched.Start(ctx); err != nil {
		return err
	}
	defer func() {
		// Give a running job its grace period, then record it as aborted.
		if err := sched.Stop(context.Background()); err != nil {
			log.Error("stop scheduler", "err", err)
		}
	}()

	cache := opcache.New(db, cfg.Location, db.Now)
	var notify func(context.Context, string)
	if db.Dialect == store.DialectPostgres {
		bus := cluster.New(cfg.DatabaseURL, cfg.Instance, log, func(ctx context.Context, payload string) error {
			return db.Write.WithContext(ctx).Exec("SELECT pg_notify(?, ?)", cluster.Channel, payload).Error
		})
		notify = bus.Notify
		go bus.Listen(ctx, func(topic string) { applyClusterChange(ctx, topic, sched, cache, log) })
	}

	// Runs started with Run now live until shutdown, not until their request ends.
	runsCtx, cancelRuns := context.WithCancel(context.Background())
	defer cancelRuns()

	authSvc := auth.New(db, db.Now, cfg.SessionIdle, cfg.SessionMax)
	handler := web.New(web.Deps{
		Store: db, Auth: authSvc, Box: box, Location: cfg.Location, Now: db.Now,
		Logger: log, Demo: cfg.Demo, SecureCookies: cfg.TLSCert != "",
		Scheduler: sched, Engine: eng, Cache: cache, CacheStatus: cache.Status, Notify: notify,
		RunContext: runsCtx,
	})

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	addr := ln.Addr().String()
	fmt.Fprintf(io.Stdout, "Identity Manager is listening: sign in at %s://%s/login (Admin: /admin, Operator: /operator)\n", scheme, addr)
	if io.Ready != nil {
		io.Ready(addr)
	}

	go expireSessions(ctx, db, cfg.SessionIdle)

	errc := make(chan error, 1)
	go func() {
		if cfg.TLSCert != "" {
			errc <- srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	case <-ctx.Done():
	}
	slog.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	stopManualRuns(eng, cancelRuns, cfg.ShutdownGrace, log)
	return nil
}

// stopManualRuns lets runs started with Run now finish within grace, then
// cancels them and waits for the engine to record them as aborted.
func stopManualRuns(eng *engine.Engine, cancel context.CancelFunc, grace time.Duration, log *slog.Logger) {
	wait := func(limit time.Duration) bool {
		deadline := time.Now().Add(limit)
		for len(eng.Running()) > 0 {
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(100 * time.Millisecond)
		}
		return true
	}
	if wait(grace) {
		return
	}
	log.Warn("a run is still going after the grace period: aborting it", "grace", grace)
	cancel()
	if !wait(30 * time.Second) {
		log.Error("a run did not stop after it was cancelled; the next start marks it aborted")
	}
}

// applyClusterChange follows a change another instance announced: a saved
// schedule is rescheduled here too, and a Clear cache clears this cache.
// After a reconnect (resync) both are re-read, since announcements sent
// while disconnected are lost.
func applyClusterChange(ctx context.Context, topic string, sched *scheduler.Scheduler, cache *opcache.Cache, log *slog.Logger) {
	if topic == cluster.TopicJobs || topic == cluster.TopicResync {
		for _, key := range domain.JobKeys {
			if err := sched.Reschedule(ctx, key); err != nil {
				log.Error("reschedule after a change on another instance", "job", key, "err", err)
			}
		}
	}
	if topic == cluster.TopicCache || topic == cluster.TopicResync {
		if err := cache.Reload(ctx); err != nil {
			log.Error("reload the Operator cache after a Clear cache on another instance", "err", err)
		}
	}
}

// expireSessions removes ended sessions every few minutes.
func expireSessions(ctx context.Context, db *store.DB, idle time.Duration) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := db.DeleteExpiredSessions(ctx, db.Now(), idle); err != nil {
				slog.Warn("expire sessions", "err", err)
			} else if n > 0 {
				slog.Debug("expired sessions", "count", n)
			}
		}
	}
}

// Demo accounts get a new random password at every start, printed once.
var demoAccounts = []struct {
	name string
	role domain.AccountRole
}{{"demo-admin", domain.RoleAdministrator}, {"demo-operator", domain.RoleOperator}}

func ensureDemoAccounts(ctx context.Context, db *store.DB, io IO) error {
	fmt.Fprintln(io.Stdout, "Demo mode. Demo accounts (new passwords at every start):")
	for _, d := range demoAccounts {
		pw := randomPassword()
		hash, err := auth.HashPassword(pw)
		if err != nil {
			return err
		}
		if _, err := db.AccountByName(ctx, d.name); domain.ErrorCode(err) == domain.ENOTFOUND {
			if _, err := db.CreateAccount(ctx, d.name, d.role, hash, "demo"); err != nil {
				return err
			}
		} else if err != nil {
			return err
		} else if err := db.SetAccountPassword(ctx, d.name, hash, "demo"); err != nil {
			return err
		}
		fmt.Fprintf(io.Stdout, "  %-14s %-13s password: %s\n", d.name, d.role, pw)
	}
	return nil
}

// randomPassword makes a 20-character password without look-alike letters.
func randomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
