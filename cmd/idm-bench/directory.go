package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"

	"idm/internal/directory"
	"idm/internal/domain"
	"idm/internal/testenv"
)

// The generated directory: testenv's slapd serves it.
const (
	baseDN     = testenv.SlapdBaseDN
	peopleDN   = testenv.SlapdPeopleDN
	lockedTime = "000001010000Z" // pwdAccountLockedTime of an account locked until unlocked
)

// inactive reports whether person i is locked (a tenth of them).
func inactive(i int) bool { return i%10 == 9 }

// personUID and personUUID name person i; the entryUUID is given in the
// LDIF, so the benchmark knows it without reading the directory back.
func personUID(i int) string  { return fmt.Sprintf("u%07d", i) }
func personUUID(i int) string { return fmt.Sprintf("0b0e0c00-0000-4000-8000-%012x", i) }

var (
	givenNames = []string{"Anna", "Erik", "Maria", "Johan", "Sara", "Lars", "Emma", "Karl", "Elin", "Anders",
		"Olivia", "Liam", "Noah", "Sofia", "Lucas", "Mia", "Priya", "Arjun", "Mei", "Wei", "Yuki", "Fatima", "Omar", "Grace"}
	surnames = []string{"Andersson", "Johansson", "Karlsson", "Nilsson", "Smith", "Johnson", "Williams", "Brown",
		"Patel", "Singh", "Chen", "Wang", "Tanaka", "Kim", "Nguyen", "Okafor", "Haddad", "Costa", "Rossi", "Novak"}
	departments = []string{"Finance", "HR", "IT", "Sales", "Operations", "Legal", "Marketing", "Customer Service"}
	titles      = []string{"Analyst", "Engineer", "Manager", "Specialist", "Coordinator", "Consultant", "Officer"}
)

// writeLDIF writes n people, OpenLDAP style, to path (testenv makes the
// base entries).
func writeLDIF(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("ldif: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		given, sn := givenNames[i%len(givenNames)], surnames[(i/len(givenNames))%len(surnames)]
		uid := personUID(i)
		fmt.Fprintf(w, "dn: uid=%s,%s\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: inetOrgPerson\n", uid, peopleDN)
		fmt.Fprintf(w, "uid: %s\ncn: %s %s\ngivenName: %s\nsn: %s\ndisplayName: %s %s\nmail: %s@example.com\n", uid, given, sn, given, sn, given, sn, uid)
		fmt.Fprintf(w, "telephoneNumber: +1 555 %03d %04d\ntitle: %s\ndepartmentNumber: %s\nemployeeNumber: %d\nentryUUID: %s\n",
			i%1000, i%10000, titles[i%len(titles)], departments[i%len(departments)], 1000000+i, personUUID(i))
		if inactive(i) {
			fmt.Fprintf(w, "pwdAccountLockedTime: %s\n", lockedTime)
		}
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("ldif: %w", err)
	}
	return f.Close()
}

// floorRead is the floor: a bare paged search of filter with go-ldap,
// requesting the attributes the job requests, in pages of pageSize, doing
// nothing with the entries. It returns how many entries it read.
func floorRead(ctx context.Context, url, bindDN, password, filter string, attrs []string, pageSize int) (int, error) {
	conn, err := ldap.DialURL(url, ldap.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}))
	if err != nil {
		return 0, fmt.Errorf("floor: dial: %w", err)
	}
	defer conn.Close()
	conn.SetTimeout(2 * time.Minute)
	if err := conn.Bind(bindDN, password); err != nil {
		return 0, fmt.Errorf("floor: bind: %w", err)
	}
	paging := ldap.NewControlPaging(uint32(pageSize))
	req := ldap.NewSearchRequest(baseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 120, false,
		filter, attrs, []ldap.Control{paging})
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		res, err := conn.Search(req)
		if err != nil {
			return n, fmt.Errorf("floor: search: %w", err)
		}
		n += len(res.Entries)
		pc, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok || len(pc.Cookie) == 0 {
			return n, nil
		}
		paging.SetCookie(pc.Cookie)
	}
}

// streamFloor is the same bare read through the product's reader: a
// directory connection as the engine dials it, Search with the job's
// attribute map (so entries are decoded and mapped, as a run needs them),
// doing nothing with the pages.
func streamFloor(ctx context.Context, s domain.LDAPSettings, password, filter string) (int, error) {
	c, err := directory.Dial(ctx, s, password)
	if err != nil {
		return 0, fmt.Errorf("floor: %w", err)
	}
	defer c.Close()
	n := 0
	err = c.Search(ctx, filter, s.AttributeMap, func(page []directory.Entry) error {
		n += len(page)
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("floor: %w", err)
	}
	return n, nil
}

// libldapFloor is the C floor: OpenLDAP's own ldapsearch with the same
// filter, attributes and page size, its LDIF counted and thrown away. It
// returns the entries, the wall time and ldapsearch's CPU time.
func libldapFloor(ctx context.Context, dir string, s domain.LDAPSettings, password, filter string) (int, time.Duration, time.Duration, error) {
	bin, err := exec.LookPath("ldapsearch")
	if err != nil {
		return 0, 0, 0, fmt.Errorf("libldap floor: ldapsearch not found (install ldap-utils): %w", err)
	}
	pwFile := filepath.Join(dir, "bind-password")
	if err := os.WriteFile(pwFile, []byte(password), 0o600); err != nil {
		return 0, 0, 0, err
	}
	defer os.Remove(pwFile)
	args := []string{"-x", "-LLL", "-o", "ldif-wrap=no", "-H", s.URL, "-D", s.BindDN, "-y", pwFile,
		"-b", s.BaseDN, "-s", "sub", "-l", "120", "-E", fmt.Sprintf("pr=%d/noprompt", s.PageSize), filter}
	cmd := exec.CommandContext(ctx, bin, append(args, s.AttributeMap.Attributes()...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, 0, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, fmt.Errorf("libldap floor: %w", err)
	}
	n, countErr := countDNLines(out)
	if err := cmd.Wait(); err != nil {
		return n, 0, 0, fmt.Errorf("libldap floor: ldapsearch: %w: %s", err, stderr.String())
	}
	wall := time.Since(start)
	if countErr != nil {
		return n, 0, 0, fmt.Errorf("libldap floor: read its output: %w", countErr)
	}
	var cpu time.Duration
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return n, wall, cpu, nil
}

// countDNLines counts the entries of unwrapped LDIF.
func countDNLines(r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	n := 0
	for sc.Scan() {
		if bytes.HasPrefix(sc.Bytes(), []byte("dn: ")) {
			n++
		}
	}
	return n, sc.Err()
}
