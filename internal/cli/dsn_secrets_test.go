package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"idm/internal/cli"
	"idm/internal/testenv"
)

// dbSecrets are passwords put into database URLs; none may be printed.
var dbSecrets = []string{"UserinfoPw1", "QueryPw2", "SslKeyPw3", "KeywordPw4"}

// secretKey is a secret key given in the environment.
const secretKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// runWith runs one subcommand with env and returns its error, output and log.
func runWith(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	io := cli.IO{Getenv: func(k string) string { return env[k] }, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := cli.Run(ctx, args, io)
	return out.String() + errOut.String(), err
}

func assertNoSecret(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range append(dbSecrets, secretKey) {
		if strings.Contains(text, s) {
			t.Errorf("%s shows the secret %q:\n%s", what, s, text)
		}
	}
}

// A database URL's secrets, wherever they stand in it, appear in no log
// line, error or usage text; nor does the secret key.
func TestDatabaseSecretsNotShown(t *testing.T) {
	t.Chdir(t.TempDir()) // a URL mistaken for a file name must not land in the source tree
	unreachable := "postgres://idm:UserinfoPw1@127.0.0.1:1/idm?sslmode=disable&password=QueryPw2&sslpassword=SslKeyPw3"
	for name, dbURL := range map[string]string{
		"Unreachable":  unreachable,
		"Unparsable":   "postgres://idm:UserinfoPw1@127.0.0.1:notaport/idm?password=QueryPw2&sslkey=SslKeyPw3",
		"BadQuery":     "postgres://idm@127.0.0.1/idm?password=QueryPw2&sslmode=bogus&sslpassword=SslKeyPw3",
		"KeywordValue": "host=127.0.0.1 port=1 user=idm password='KeywordPw4' sslpassword=SslKeyPw3 sslmode=disable",
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"IDM_DATA_DIR": t.TempDir(), "IDM_DATABASE_URL": dbURL, "IDM_SECRET_KEY": secretKey}
			out, err := runWith(t, env, "migrate")
			if err == nil {
				t.Fatalf("migrate on %s succeeded", name)
			}
			assertNoSecret(t, "the error", err.Error())
			assertNoSecret(t, "the output", out)
		})
	}
	t.Run("Usage", func(t *testing.T) {
		env := map[string]string{"IDM_DATABASE_URL": unreachable, "IDM_SECRET_KEY": secretKey}
		for _, args := range [][]string{{"serve", "-h"}, {"migrate", "--no-such-flag"}} {
			out, _ := runWith(t, env, args...)
			if !strings.Contains(out, "database-url") {
				t.Fatalf("idm %s printed no usage:\n%s", strings.Join(args, " "), out)
			}
			assertNoSecret(t, "idm "+strings.Join(args, " "), out)
		}
	})
	t.Run("StartingLine", func(t *testing.T) {
		dbURL := testenv.PostgresURL(t) + "&password=QueryPw2&sslpassword=SslKeyPw3"
		dbURL = strings.Replace(dbURL, "postgres://postgres@", "postgres://postgres:UserinfoPw1@", 1)
		p := newProgram(t, dbURL)
		var out, errOut syncBuffer
		env := map[string]string{"IDM_DATA_DIR": p.dataDir, "IDM_DATABASE_URL": dbURL, "IDM_SECRET_KEY": secretKey, "IDM_LOG_LEVEL": "info"}
		io := cli.IO{Getenv: func(k string) string { return env[k] }, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}
		ctx, cancel := context.WithCancel(context.Background())
		_, done := startServeIO(t, ctx, io, &errOut)
		cancel()
		<-done
		if !strings.Contains(errOut.String(), "starting") || !strings.Contains(errOut.String(), "127.0.0.1") {
			t.Fatalf("no starting line naming the database:\n%s", errOut.String())
		}
		assertNoSecret(t, "serve's log", out.String()+errOut.String())
	})
}
