package cluster_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"idm/internal/cluster"
	"idm/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestBus(t *testing.T) {
	url := testenv.PostgresURL(t)
	db := testenv.MustOpenDB(t, url)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := cluster.New(url, "a", log, db)
	b := cluster.New(url, "b", log, db)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gotA, gotB := make(chan string, 10), make(chan string, 10)
	go a.Listen(ctx, func(topic string) { gotA <- topic })
	go b.Listen(ctx, func(topic string) { gotB <- topic })

	// LISTEN is asynchronous: announce until the other side hears it.
	deadline := time.After(10 * time.Second)
	heard := false
	for !heard {
		a.Notify(ctx, cluster.TopicJobs)
		select {
		case topic := <-gotB:
			if topic != cluster.TopicJobs {
				t.Fatalf("b heard %q", topic)
			}
			heard = true
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("b never heard a's announcement")
		}
	}
	t.Run("OwnAnnouncementIgnored", func(t *testing.T) {
		select {
		case topic := <-gotA:
			t.Fatalf("a heard its own announcement %q", topic)
		case <-time.After(300 * time.Millisecond):
		}
	})
	t.Run("ResyncAfterReconnect", func(t *testing.T) {
		// Kill b's listening connection; b reconnects and asks for a resync.
		testenv.TerminateListeners(t, db)
		timeout := time.After(15 * time.Second)
		for {
			select {
			case topic := <-gotB:
				if topic == cluster.TopicResync {
					return
				}
			case <-timeout:
				t.Fatal("no resync after the connection was killed")
			}
		}
	})
}
