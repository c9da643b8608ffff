package cli

import (
	"log/slog"
	"net"
	"strings"
	"testing"

	"idm/internal/config"
)

// TestDemoMetricsAddress: demo mode serves metrics on loopback without
// --metrics-listen, on config.DemoMetrics or, when that port is taken, on
// a free loopback port; outside demo mode there are none unless asked.
func TestDemoMetricsAddress(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	if ln, err := listenMetrics(&config.Config{}, log); ln != nil || err != nil {
		t.Fatalf("without demo mode or the flag: %v, %v; want no listener", ln, err)
	}
	// Hold the demo's port (unless another process already does), so the
	// demo must fall back to a free one.
	if held, err := net.Listen("tcp", config.DemoMetrics); err == nil {
		defer held.Close()
	}
	ln, err := listenMetrics(&config.Config{Demo: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	if !strings.HasPrefix(addr, "127.0.0.1:") || addr == config.DemoMetrics {
		t.Errorf("demo metrics on %s, want a free loopback port while %s is taken", addr, config.DemoMetrics)
	}
	if _, err := listenMetrics(&config.Config{Demo: true, MetricsListen: addr}, log); err == nil || !strings.Contains(err.Error(), "listen for metrics") {
		t.Errorf("an address in use: %v, want the failure to listen", err)
	}
}
