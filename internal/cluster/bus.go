// Package cluster carries "this changed" messages between the instances of
// a cluster that share one PostgreSQL database, over LISTEN/NOTIFY. A save
// in Admin on one instance reschedules the job on every instance; a Clear
// cache reloads every Operator cache.
package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"idm/internal/dsn"
)

// Channel is the PostgreSQL notification channel.
const Channel = "idm_events"

// Topics: what an instance announces, and what every instance must follow.
const (
	// TopicJobs: an administrator saved a job definition (reschedule it).
	TopicJobs = "jobs"
	// TopicSettings: an administrator saved the LDAP settings or the
	// deactivation permission.
	TopicSettings = "settings"
	// TopicCache: an operator cleared the Operator cache (reload it).
	TopicCache = "cache"
	// TopicResync is delivered locally after a reconnect: notifications
	// sent while the connection was down are lost, so re-read everything.
	TopicResync = "resync"
)

// Sender sends one notification on a channel (store.DB.Notify, through the
// store's pool).
type Sender interface {
	Notify(ctx context.Context, channel, payload string) error
}

// Bus sends and receives topic notifications.
type Bus struct {
	dsn      string
	instance string
	log      *slog.Logger
	sender   Sender
}

// New builds a bus for the database at dsn; sender delivers what Notify
// announces.
func New(dsn, instance string, log *slog.Logger, sender Sender) *Bus {
	return &Bus{dsn: dsn, instance: instance, log: log, sender: sender}
}

// Notify tells the other instances that topic changed. A failure is logged,
// not returned: the change itself is saved, and the others pick it up at
// their next reconnect or Clear cache.
func (b *Bus) Notify(ctx context.Context, topic string) {
	if err := b.sender.Notify(ctx, Channel, b.instance+"|"+topic); err != nil {
		b.log.Warn("cluster: notify failed", "topic", topic, "err", err)
	}
}

// Listen calls fn for every topic another instance announces, until ctx
// ends. It reconnects with a back-off after a lost connection and then
// calls fn(TopicResync).
func (b *Bus) Listen(ctx context.Context, fn func(topic string)) {
	backoff := time.Second
	first := true
	for ctx.Err() == nil {
		err := b.listenOnce(ctx, fn, func() {
			backoff = time.Second
			if !first {
				fn(TopicResync)
			}
			first = false
		})
		if ctx.Err() != nil {
			return
		}
		b.log.Warn("cluster: notification connection lost; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (b *Bus) listenOnce(ctx context.Context, fn func(string), connected func()) error {
	conn, err := pgx.Connect(ctx, b.dsn)
	if err != nil {
		return dsn.ScrubError(b.dsn, fmt.Errorf("cluster: connect: %w", err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return fmt.Errorf("cluster: listen: %w", err)
	}
	connected()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("cluster: wait: %w", err)
		}
		from, topic, ok := strings.Cut(n.Payload, "|")
		if !ok || from == b.instance {
			continue
		}
		b.log.Info("cluster: change announced by another instance", "from", from, "topic", topic)
		fn(topic)
	}
}
