package cluster_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"idm/internal/cluster"
)

// lockedBuffer is a log destination that Listen's goroutine and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A connection that fails is logged without the URL's secrets, though pgx's
// own error names them (sslkey as given, and the key file it cannot read).
func TestBusConnectErrorHidesSecrets(t *testing.T) {
	secrets := []string{"UserPw1", "QueryPw2", "SslPw3", "KeyPath4"}
	url := "postgres://idm:UserPw1@127.0.0.1:1/idm?sslmode=require&sslcert=/nonexistent/cert.pem&sslkey=/nonexistent/KeyPath4&sslpassword=SslPw3&password=QueryPw2"
	var logs lockedBuffer
	bus := cluster.New(url, "a", slog.New(slog.NewTextHandler(&logs, nil)), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { bus.Listen(ctx, func(string) {}); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "reconnecting") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	out := logs.String()
	if !strings.Contains(out, "reconnecting") {
		t.Fatalf("no failed connection logged:\n%s", out)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the log shows %q:\n%s", s, out)
		}
	}
}
