package scheduler

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/go-co-op/gocron/v2"
)

// ErrLocked is returned by the PostgreSQL locker when another session holds
// the job's lock: another instance is running it.
var ErrLocked = errors.New("scheduler: job is locked by another instance")

// lockNamespace is the first key of the two-key advisory lock form, so these
// locks live apart from single-key locks (such as goose's migration lock).
const lockNamespace = 0x69646d // "idm"

// unlockTimeout bounds the unlock statement.
const unlockTimeout = 5 * time.Second

type pgLocker struct{ db *sql.DB }

// NewPGLocker returns a gocron.Locker on PostgreSQL session advisory locks:
// a lock pins one connection of db for the run and is released on that same
// connection. A crashed process's locks go with its connections. It does not
// work behind a transaction-pooling PgBouncer (session state is lost).
func NewPGLocker(db *sql.DB) gocron.Locker { return &pgLocker{db: db} }

func (l *pgLocker) Lock(ctx context.Context, key string) (gocron.Lock, error) {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("scheduler: lock %s: connect: %w", key, err)
	}
	var got bool
	err = conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1, hashtext($2))", lockNamespace, key).Scan(&got)
	if err != nil {
		discard(conn)
		return nil, fmt.Errorf("scheduler: lock %s: %w", key, err)
	}
	if !got {
		_ = conn.Close()
		return nil, fmt.Errorf("%w: %s", ErrLocked, key)
	}
	return &pgLock{conn: conn, key: key}, nil
}

type pgLock struct {
	conn *sql.Conn
	key  string
}

// Unlock releases the lock on the connection that took it. gocron passes
// the job's context, which is already cancelled when the job was updated,
// removed or the scheduler is shutting down during the run; the unlock must
// happen anyway, so it runs on a context of its own. If it fails, the
// connection is discarded rather than returned to the pool, so that closing
// it releases the lock instead of a pooled session keeping it forever.
func (l *pgLock) Unlock(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
	defer cancel()
	var released bool
	err := l.conn.QueryRowContext(ctx, "SELECT pg_advisory_unlock($1, hashtext($2))", lockNamespace, l.key).Scan(&released)
	if err != nil || !released {
		discard(l.conn)
		if err == nil {
			err = errors.New("the lock was not held")
		}
		return fmt.Errorf("scheduler: unlock %s: %w", l.key, err)
	}
	if err := l.conn.Close(); err != nil {
		return fmt.Errorf("scheduler: unlock %s: return connection: %w", l.key, err)
	}
	return nil
}

// discard closes conn's underlying connection instead of pooling it:
// database/sql drops a connection whose Raw callback returns ErrBadConn.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}
