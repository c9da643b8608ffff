package dsn_test

import (
	"errors"
	"fmt"
	"testing"

	"idm/internal/dsn"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"URLUserinfo", "postgres://idm:s3cret@db.example/idm", "postgres://idm:xxxxx@db.example/idm"},
		{"URLQueryPassword", "postgres://idm@db.example/idm?password=s3cret&sslmode=require", "postgres://idm@db.example/idm?password=xxxxx&sslmode=require"},
		{"URLEverySecret", "postgresql://idm:a@h:5432/idm?sslpassword=b&sslkey=-----BEGIN&sslcert=/c.pem&password=d",
			"postgresql://idm:xxxxx@h:5432/idm?sslpassword=xxxxx&sslkey=xxxxx&sslcert=/c.pem&password=xxxxx"},
		{"URLKeyCaseAndEscapes", "postgres://h/db?PassWord=a&pass%77ord=b&%20password%20=c", "postgres://h/db?PassWord=xxxxx&pass%77ord=xxxxx&%20password%20=xxxxx"},
		{"URLRepeated", "postgres://h/db?password=a&password=b", "postgres://h/db?password=xxxxx&password=xxxxx"},
		{"URLEncodedPassword", "postgres://idm:p%40ss%2Fw%3Ard@h/db", "postgres://idm:xxxxx@h/db"},
		{"URLRawAtInPassword", "postgres://idm:p@ss@h/db", "postgres://idm:xxxxx@h/db"},
		{"URLRawSlashInPassword", "postgres://idm:pa/ss@h/db", "postgres://idm:xxxxx@h/db"},
		{"URLRawQuestionMarkInPassword", "postgres://idm:pa?ss@h/db?password=q", "postgres://idm:xxxxx@h/db?password=xxxxx"},
		{"URLNoUserinfoAtInQuery", "postgres://h:5432/db?application_name=a@b", "postgres://h:5432/db?application_name=a@b"},
		{"URLMultiHost", "postgres://idm:pw@h1:5432,h2:5433/db?target_session_attrs=read-write", "postgres://idm:xxxxx@h1:5432,h2:5433/db?target_session_attrs=read-write"},
		{"URLIPv6", "postgres://idm:pw@[::1]:5432/db", "postgres://idm:xxxxx@[::1]:5432/db"},
		{"URLUserOnly", "postgres://idm@h/db", "postgres://idm@h/db"},
		{"URLEmptyPassword", "postgres://idm:@h/db?password=", "postgres://idm:@h/db?password="},
		{"URLNoPath", "postgres://h?password=pw", "postgres://h?password=xxxxx"},
		{"KeywordValue", "host=h port=5432 user=idm password=s3cret dbname=idm", "host=h port=5432 user=idm password=xxxxx dbname=idm"},
		{"KeywordQuoted", `host=h password='s3 cr\'et' sslpassword = "x" sslkey=/k`, `host=h password='xxxxx' sslpassword = xxxxx sslkey=xxxxx`},
		{"KeywordEscapedSpace", `password=a\ b user=idm`, `password=xxxxx user=idm`},
		{"KeywordUnterminated", `user=idm password='s3cret`, `user=idm password='xxxxx`},
		{"KeywordUpperCase", "PASSWORD=s3cret", "PASSWORD=xxxxx"},
		{"KeywordTabs", "host=h\tpassword=s3cret\nuser=idm", "host=h\tpassword=xxxxx\nuser=idm"},
		{"SQLite", "sqlite:///var/lib/idm/idm.db", "sqlite:///var/lib/idm/idm.db"},
		{"SQLiteQuery", "file:/tmp/idm.db?_pragma=busy_timeout(5000)&password=x", "file:/tmp/idm.db?_pragma=busy_timeout(5000)&password=xxxxx"},
		{"PlainPath", "/var/lib/idm/a=b.db", "/var/lib/idm/a=b.db"},
		{"Empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := dsn.Redact(tc.in); got != tc.want {
				t.Errorf("Redact(%q)\n = %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestScrubError(t *testing.T) {
	url := "postgres://idm:p%40ssw0rd@h/db?sslkey=/etc/idm/key.pem&password=Qu3ry"
	inner := errors.New("boom")
	err := dsn.ScrubError(url, fmt.Errorf("connect to %s (user password p@ssw0rd, key /etc/idm/key.pem, Qu3ry): %w", url, inner))
	want := "connect to postgres://idm:xxxxx@h/db?sslkey=xxxxx&password=xxxxx (user password xxxxx, key xxxxx, xxxxx): boom"
	if err.Error() != want {
		t.Errorf("ScrubError\n = %q\nwant %q", err, want)
	}
	if !errors.Is(err, inner) {
		t.Error("the scrubbed error no longer wraps its cause")
	}
	if dsn.ScrubError(url, nil) != nil {
		t.Error("ScrubError(nil) is not nil")
	}
}

func TestIsKeywordValue(t *testing.T) {
	for in, want := range map[string]bool{
		"host=db password=x": true, "dbname=idm": true, "user = idm": true,
		"postgres://h/db?host=x": false, "sqlite:///x.db": false, "/var/lib/idm/a=b.db": false, "idm.db": false, "": false,
	} {
		if got := dsn.IsKeywordValue(in); got != want {
			t.Errorf("IsKeywordValue(%q) = %v, want %v", in, got, want)
		}
	}
}
