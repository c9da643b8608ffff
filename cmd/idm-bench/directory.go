package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// The generated directory.
const (
	baseDN        = "dc=example,dc=com"
	peopleDN      = "ou=people,dc=example,dc=com"
	adminDN       = "cn=admin,dc=example,dc=com"
	lockedTime    = "000001010000Z" // pwdAccountLockedTime of an account locked until unlocked
	slapdModules  = "/usr/lib/ldap"
	slapdSchemas  = "/etc/ldap/schema"
	slapdStartMax = 60 * time.Second
)

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

// writeLDIF writes the base entries and pop's people, OpenLDAP style, to
// path.
func writeLDIF(path string, pop population) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("ldif: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n", baseDN)
	fmt.Fprintf(w, "dn: %s\nobjectClass: organizationalUnit\nou: people\n\n", peopleDN)
	for i := range pop.n {
		given, sn := givenNames[i%len(givenNames)], surnames[(i/len(givenNames))%len(surnames)]
		uid := personUID(i)
		fmt.Fprintf(w, "dn: uid=%s,%s\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: inetOrgPerson\n", uid, peopleDN)
		fmt.Fprintf(w, "uid: %s\ncn: %s %s\ngivenName: %s\nsn: %s\ndisplayName: %s %s\nmail: %s@example.com\n", uid, given, sn, given, sn, given, sn, uid)
		fmt.Fprintf(w, "telephoneNumber: +1 555 %03d %04d\ntitle: %s\ndepartmentNumber: %s\nemployeeNumber: %d\nentryUUID: %s\n",
			i%1000, i%10000, titles[i%len(titles)], departments[i%len(departments)], 1000000+i, personUUID(i))
		if pop.inactive(i) {
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

// slapd is a throwaway OpenLDAP server loaded with slapadd.
type slapd struct {
	URL, Password string
	dir           string
	cmd           *exec.Cmd
	done          chan struct{}
}

// startSlapd writes a configuration, bulk-loads ldifPath with slapadd -q
// (no per-entry sync: seconds for 100,000 entries) and starts slapd on a
// free loopback port.
func startSlapd(dir, ldifPath string) (*slapd, error) {
	s := &slapd{dir: dir, Password: "bench-admin-secret"}
	cfgDir, dataDir := filepath.Join(dir, "slapd.d"), filepath.Join(dir, "data")
	for _, d := range []string{cfgDir, dataDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("slapd: %w", err)
		}
	}
	slapdBin, err := lookBin("slapd", "/usr/sbin/slapd")
	if err != nil {
		return nil, err
	}
	slapaddBin, err := lookBin("slapadd", "/usr/sbin/slapadd")
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "config.ldif")
	if err := os.WriteFile(cfgPath, []byte(s.config(dataDir)), 0o600); err != nil {
		return nil, fmt.Errorf("slapd: %w", err)
	}
	if out, err := exec.Command(slapaddBin, "-n0", "-F", cfgDir, "-l", cfgPath).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("slapadd cn=config: %w\n%s", err, out)
	}
	if out, err := exec.Command(slapaddBin, "-q", "-F", cfgDir, "-b", baseDN, "-l", ldifPath).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("slapadd the people: %w\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s.URL = fmt.Sprintf("ldap://127.0.0.1:%d", port)
	s.cmd = exec.Command(slapdBin, "-d", "0", "-h", s.URL+"/", "-F", cfgDir)
	s.cmd.Dir = dir
	logf, err := os.Create(filepath.Join(dir, "slapd.log"))
	if err != nil {
		return nil, fmt.Errorf("slapd: %w", err)
	}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start slapd: %w", err)
	}
	s.done = make(chan struct{})
	go func() { _ = s.cmd.Wait(); logf.Close(); close(s.done) }()
	deadline := time.Now().Add(slapdStartMax)
	for {
		conn, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}))
		if err == nil {
			err = conn.Bind(adminDN, s.Password)
			conn.Close()
		}
		if err == nil {
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("slapd exited at start: see %s", filepath.Join(dir, "slapd.log"))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = s.Close()
			return nil, fmt.Errorf("slapd not answering after %s: %w", slapdStartMax, err)
		}
	}
}

// config is cn=config: mdb with room for 100,000s of entries, the schemas
// the people need, ppolicy for pwdAccountLockedTime, no size limit on paged
// searches, and the indexes a directory serving these filters would have.
func (s *slapd) config(dataDir string) string {
	return strings.NewReplacer("{{dir}}", s.dir, "{{data}}", dataDir, "{{modules}}", slapdModules,
		"{{schema}}", slapdSchemas, "{{base}}", baseDN, "{{admin}}", adminDN, "{{pw}}", s.Password,
	).Replace(`dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {{dir}}/slapd.pid
olcArgsFile: {{dir}}/slapd.args
olcLogLevel: none

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: {{modules}}
olcModuleLoad: back_mdb
olcModuleLoad: ppolicy

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://{{schema}}/core.ldif

include: file://{{schema}}/cosine.ldif

include: file://{{schema}}/nis.ldif

include: file://{{schema}}/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: size.soft=500 size.hard=unlimited size.prtotal=unlimited

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: {{data}}
olcDbMaxSize: 4294967296
olcSuffix: {{base}}
olcRootDN: {{admin}}
olcRootPW: {{pw}}
olcSizeLimit: size.soft=500 size.hard=unlimited size.prtotal=unlimited
olcDbIndex: objectClass eq
olcDbIndex: entryUUID eq
olcDbIndex: uid eq
olcDbIndex: pwdAccountLockedTime pres
olcAccess: {0}to * by * read

dn: olcOverlay={0}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {0}ppolicy
`)
}

// Close stops slapd (SIGTERM, then SIGKILL) and removes its directory.
func (s *slapd) Close() error {
	var err error
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
			err = errors.New("slapd did not stop within 15s; killed it")
		}
	}
	if rmErr := os.RemoveAll(s.dir); rmErr != nil && err == nil {
		err = rmErr
	}
	return err
}

func lookBin(name string, paths ...string) (string, error) {
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found (install slapd and ldap-utils: scripts/install-test-deps.sh): %w", name, err)
	}
	return p, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
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
