package cli_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"idm/internal/cli"
	"idm/internal/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv(serveChildEnv) != "" {
		os.Exit(serveChild())
	}
	testenv.Main(m)
}

const e2ePassword = "a long enough password"

// program runs idm subcommands against one data directory and database,
// exactly as a person would on the command line.
type program struct {
	dataDir, dbURL string
}

func newProgram(t *testing.T, dbURL string) *program {
	t.Helper()
	dir := t.TempDir()
	if dbURL == "" {
		dbURL = "sqlite://" + filepath.Join(dir, "idm.db")
	}
	return &program{dataDir: dir, dbURL: dbURL}
}

func (p *program) io(stdin string, stdout, stderr *bytes.Buffer) cli.IO {
	env := map[string]string{"IDM_DATA_DIR": p.dataDir, "IDM_DATABASE_URL": p.dbURL, "IDM_LOG_LEVEL": "warn"}
	return cli.IO{Getenv: func(k string) string { return env[k] }, Stdin: strings.NewReader(stdin), Stdout: stdout, Stderr: stderr}
}

// run runs one subcommand to its end and returns its standard output.
func (p *program) run(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := cli.Run(context.Background(), args, p.io(stdin, &out, &errOut)); err != nil {
		t.Fatalf("idm %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

// serve starts `idm serve` on port 0 and returns its base URL; the server
// stops when the test ends.
func (p *program) serve(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	base, done := startServe(t, ctx, p, args...)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("serve ended with %v", err)
		}
	})
	return base
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// signIn fills in the login form as a person would.
func signIn(base, name, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(`[data-testid="username"]`),
		chromedp.SendKeys(`[data-testid="username"]`, name),
		chromedp.SendKeys(`[data-testid="password"]`, password),
		chromedp.Click(`[data-testid="sign-in"]`),
		chromedp.WaitVisible(`[data-testid="signed-in-account"]`),
	)
}

func TestServeInBrowser(t *testing.T) {
	testenv.EachStore(t, func(t *testing.T, dbURL string) {
		p := newProgram(t, dbURL)
		p.run(t, e2ePassword+"\n", "account", "create", "--role", "administrator", "alice")
		p.run(t, e2ePassword+"\n", "account", "create", "--role", "operator", "olle")
		base := p.serve(t)

		ctx, cancel := context.WithTimeout(testenv.Browser(t), 60*time.Second)
		defer cancel()

		t.Run("AdministratorSeesBatchSynchronization", func(t *testing.T) {
			if err := chromedp.Do(ctx, signIn(base, "alice", e2ePassword)); err != nil {
				t.Fatalf("sign in: %v", err)
			}
			tile, err := chromedp.Run(ctx, chromedp.Text(`[data-testid="tile-batch-sync"] strong`))
			if err != nil || tile != "Batch Synchronization" {
				t.Fatalf("Home tile = %q, %v", tile, err)
			}
			crumbs, err := chromedp.Run(ctx, chromedp.Text(`[data-testid="breadcrumbs"]`))
			if err != nil || !strings.Contains(crumbs, "Home") {
				t.Fatalf("breadcrumbs = %q, %v", crumbs, err)
			}
			if err := chromedp.Do(ctx, chromedp.Click(`[data-testid="logout"]`), chromedp.WaitVisible(`[data-testid="sign-in"]`)); err != nil {
				t.Fatalf("log out: %v", err)
			}
		})
		t.Run("OperatorRefusedAdmin", func(t *testing.T) {
			if err := chromedp.Do(ctx, signIn(base, "olle", e2ePassword)); err != nil {
				t.Fatalf("sign in: %v", err)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(base+"/admin/batch-sync"), chromedp.WaitVisible(`[data-testid="error-message"]`)); err != nil {
				t.Fatalf("open admin page: %v", err)
			}
			msg, err := chromedp.Run(ctx, chromedp.Text(`[data-testid="error-message"]`))
			if err != nil || !strings.Contains(msg, "for administrators") {
				t.Fatalf("refusal = %q, %v", msg, err)
			}
		})
	})
}

func TestAccountCommand(t *testing.T) {
	p := newProgram(t, "")
	t.Run("ErrShortPasswordCreatesNothing", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := cli.Run(context.Background(), []string{"account", "create", "--role", "operator", "bob"}, p.io("short\n", &out, &errOut))
		if err == nil || !strings.Contains(err.Error(), "at least 12 characters") {
			t.Fatalf("err = %v", err)
		}
		if list := p.run(t, "", "account", "list"); strings.Contains(list, "bob") {
			t.Fatalf("bob was created:\n%s", list)
		}
	})
	t.Run("ErrUnknownRole", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := cli.Run(context.Background(), []string{"account", "create", "--role", "root", "bob"}, p.io(e2ePassword+"\n", &out, &errOut))
		if cli.ExitCode(err) != 2 {
			t.Fatalf("err = %v (exit %d), want a usage error", err, cli.ExitCode(err))
		}
	})
	t.Run("OK", func(t *testing.T) {
		p.run(t, e2ePassword+"\n", "account", "create", "--role", "operator", "bob")
		if list := p.run(t, "", "account", "list"); !strings.Contains(list, "bob") || !strings.Contains(list, "operator") {
			t.Fatalf("list:\n%s", list)
		}
		p.run(t, "", "account", "disable", "bob")
		if list := p.run(t, "", "account", "list"); !strings.Contains(list, "true") {
			t.Fatalf("bob not disabled:\n%s", list)
		}
	})
}
