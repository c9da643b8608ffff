package testenv

import (
	"embed"
	"fmt"
	"strings"
	"testing"
)

// fixtures are embedded so that tests of any package can load them: a test
// runs in its own package's directory, not in this one.
//
//go:embed testdata/*.ldif
var fixtures embed.FS

// Fixture returns the text of testdata/<name> of this package, for example
// Fixture(t, "people.ldif"): ten people, three of them locked (see the
// file's header).
func Fixture(tb testing.TB, name string) string {
	tb.Helper()
	b, err := fixtures.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatalf("testenv: fixture %s: %v", name, err)
	}
	return string(b)
}

// PeopleLDIF generates n inetOrgPerson entries under ou=people,
// uid=user000001 and on, for tests that need many entries (paging, speed).
// Every lockedEvery-th entry (i%lockedEvery == 0, counting from 1) carries
// pwdAccountLockedTime; 0 locks none.
func PeopleLDIF(n, lockedEvery int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		uid := fmt.Sprintf("user%06d", i)
		fmt.Fprintf(&b, "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: User %d\ngivenName: User\nsn: Number %d\n"+
			"displayName: User %d\nmail: %s@example.com\ntitle: Staff\ndepartmentNumber: D%d\nemployeeNumber: %d\n",
			uid, SlapdPeopleDN, uid, i, i, i, uid, i%10, 100000+i)
		if lockedEvery > 0 && i%lockedEvery == 0 {
			b.WriteString("pwdAccountLockedTime: 000001010000Z\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}
