package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// The directory every Slapd serves.
const (
	SlapdBaseDN        = "dc=example,dc=com"
	SlapdPeopleDN      = "ou=people,dc=example,dc=com"
	SlapdAdminDN       = "cn=admin,dc=example,dc=com"
	SlapdAdminPassword = "testenv-admin-secret"
)

// Debian's locations; lookBin falls back to PATH for the binaries.
const (
	slapdModuleDir = "/usr/lib/ldap"
	slapdSchemaDir = "/etc/ldap/schema"
)

// Slapd is a throwaway OpenLDAP server with its own configuration and data
// in a temporary directory. URL accepts plain LDAP and StartTLS; LDAPSURL is
// LDAP over TLS. Both present a certificate for 127.0.0.1 and localhost
// signed by CACertPEM.
type Slapd struct {
	URL      string // ldap://127.0.0.1:Port
	LDAPSURL string // ldaps://127.0.0.1:TLSPort
	Host     string
	Port     int
	TLSPort  int

	BaseDN, PeopleDN, AdminDN, AdminPassword string
	CACertPEM                                string

	tb      testing.TB // nil for a SlapdServer
	dir     string
	cfgDir  string
	slapd   string
	slapadd string
	log     *logBuffer
	cmd     *exec.Cmd
	done    chan struct{}
}

// StartSlapd starts an OpenLDAP server for this test and waits until it
// answers. It serves dc=example,dc=com from an mdb database with the core,
// cosine, nis and inetorgperson schemas and the ppolicy overlay (which
// defines pwdAccountLockedTime). The entries dc=example,dc=com and
// ou=people,dc=example,dc=com are made unless an LDIF has them; then each
// LDIF (text, not a file name; see Fixture) is loaded with slapadd, so entries
// may carry operational attributes such as pwdAccountLockedTime, and get an
// entryUUID. cn=admin,dc=example,dc=com (AdminPassword) is the rootdn. The
// server is stopped and its directory removed when the test ends.
func StartSlapd(tb testing.TB, ldif ...string) *Slapd {
	tb.Helper()
	bins, err := findSlapd()
	Require(tb, "slapd", err)
	s, err := newSlapd(tb.TempDir(), bins)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	s.tb = tb
	data := filepath.Join(s.dir, "data.ldif")
	if err := os.WriteFile(data, []byte(s.dataLDIF(ldif)), 0o600); err != nil {
		tb.Fatalf("testenv: slapd file: %v", err)
	}
	if err := s.load(data); err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(func() {
		if err := s.stop(); err != nil {
			tb.Errorf("%v", err)
		}
	})
	if err := s.launch(); err != nil {
		tb.Fatalf("%v", err)
	}
	// make test counts these lines to show what the tests ran against.
	tb.Logf("testenv: uses slapd at %s", s.URL)
	return s
}

// SlapdServer is a throwaway slapd for a program rather than a test (the
// benchmark, cmd/idm-bench): the server tests get, with errors returned
// instead of failing a testing.TB. Close stops it and removes its directory.
type SlapdServer struct {
	URL                                      string // ldap://127.0.0.1:port
	BaseDN, PeopleDN, AdminDN, AdminPassword string
	srv                                      *Slapd
}

// StartSlapdServer starts a slapd like StartSlapd's in a new temporary
// directory, makes dc=example,dc=com and ou=people, then bulk-loads each
// LDIF file in turn (slapadd -q: seconds for 100,000 entries), and waits
// until it answers. The files must not hold the two base entries.
func StartSlapdServer(ldifFiles ...string) (*SlapdServer, error) {
	bins, err := findSlapd()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "testenv-slapd-")
	if err != nil {
		return nil, fmt.Errorf("testenv: slapd directory: %w", err)
	}
	s, err := startSlapdIn(dir, bins, ldifFiles)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return &SlapdServer{URL: s.URL, BaseDN: s.BaseDN, PeopleDN: s.PeopleDN, AdminDN: s.AdminDN, AdminPassword: s.AdminPassword, srv: s}, nil
}

func startSlapdIn(dir string, bins slapdBins, ldifFiles []string) (*Slapd, error) {
	s, err := newSlapd(dir, bins)
	if err != nil {
		return nil, err
	}
	base := filepath.Join(dir, "base.ldif")
	if err := os.WriteFile(base, []byte(s.dataLDIF(nil)), 0o600); err != nil {
		return nil, fmt.Errorf("testenv: slapd file: %w", err)
	}
	for _, f := range append([]string{base}, ldifFiles...) {
		if err := s.load(f); err != nil {
			return nil, err
		}
	}
	if err := s.launch(); err != nil {
		return nil, err
	}
	return s, nil
}

// Close stops the server and removes its directory.
func (p *SlapdServer) Close() error {
	err := p.srv.stop()
	if rmErr := os.RemoveAll(p.srv.dir); rmErr != nil && err == nil {
		err = fmt.Errorf("testenv: remove slapd directory: %w", rmErr)
	}
	return err
}

// slapdBins are the programs a Slapd runs.
type slapdBins struct{ slapd, slapadd string }

// findSlapd finds slapd, slapadd, the modules and the schema.
func findSlapd() (slapdBins, error) {
	var b slapdBins
	var err error
	if b.slapd, err = lookBin("slapd", "/usr/sbin/slapd"); err != nil {
		return b, err
	}
	if b.slapadd, err = lookBin("slapadd", "/usr/sbin/slapadd"); err != nil {
		return b, err
	}
	for _, f := range []string{filepath.Join(slapdModuleDir, "back_mdb.la"), filepath.Join(slapdModuleDir, "ppolicy.la"), filepath.Join(slapdSchemaDir, "inetorgperson.ldif")} {
		if _, err := os.Stat(f); err != nil {
			return b, fmt.Errorf("testenv: slapd: %w", err)
		}
	}
	return b, nil
}

// newSlapd writes a server's configuration, certificates and empty
// database into dir and loads cn=config; load adds entries, launch starts it.
func newSlapd(dir string, bins slapdBins) (*Slapd, error) {
	s := &Slapd{
		Host: "127.0.0.1", BaseDN: SlapdBaseDN, PeopleDN: SlapdPeopleDN,
		AdminDN: SlapdAdminDN, AdminPassword: SlapdAdminPassword,
		dir: dir, slapd: bins.slapd, slapadd: bins.slapadd, log: &logBuffer{},
	}
	s.cfgDir = filepath.Join(s.dir, "slapd.d")
	dataDir := filepath.Join(s.dir, "data")
	for _, d := range []string{s.cfgDir, dataDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, fmt.Errorf("testenv: slapd directory: %w", err)
		}
	}
	pki, err := newTestPKI()
	if err != nil {
		return nil, err
	}
	s.CACertPEM = string(pki.CACertPEM)
	files := map[string][]byte{
		"ca.pem": pki.CACertPEM, "server.pem": pki.ServerCertPEM, "server.key": pki.ServerKeyPEM,
		"config.ldif": []byte(s.configLDIF(dataDir)),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(s.dir, name), content, 0o600); err != nil {
			return nil, fmt.Errorf("testenv: slapd file: %w", err)
		}
	}
	if out, err := exec.Command(s.slapadd, "-n0", "-F", s.cfgDir, "-l", filepath.Join(s.dir, "config.ldif")).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("testenv: slapadd cn=config: %v\n%s", err, out)
	}
	return s, nil
}

// load bulk-loads an LDIF file. -q skips the per-entry sync (13 times
// faster for 1,200 entries) but still checks the schema and that every
// parent exists.
func (s *Slapd) load(path string) error {
	if out, err := exec.Command(s.slapadd, "-q", "-F", s.cfgDir, "-b", s.BaseDN, "-l", path).CombinedOutput(); err != nil {
		return fmt.Errorf("testenv: slapadd the fixtures: %v\n%s", err, out)
	}
	return nil
}

// launch starts slapd on free ports: a port can be taken between freePort
// and slapd's bind, so it tries new ones.
func (s *Slapd) launch() error {
	var err error
	for attempt := 0; ; attempt++ {
		if s.Port, err = freePort(); err == nil {
			s.TLSPort, err = freePort()
		}
		if err != nil {
			return err
		}
		if err = s.start(); err == nil {
			break
		}
		if attempt == 2 {
			return err
		}
	}
	s.URL = fmt.Sprintf("ldap://%s:%d", s.Host, s.Port)
	s.LDAPSURL = fmt.Sprintf("ldaps://%s:%d", s.Host, s.TLSPort)
	return nil
}

// configLDIF is the server's cn=config, loaded with slapadd -n0. The
// ppolicy module defines pwdAccountLockedTime; the overlay is on the
// database, as on a real server, but with no default policy it locks no one
// out of binds. Paged searches are not limited, so tests can page through
// more than the default 500 entries as any user. The map size (4 GiB,
// sparse) leaves room for the benchmark's 100,000s of entries.
func (s *Slapd) configLDIF(dataDir string) string {
	return strings.NewReplacer("{{dir}}", s.dir, "{{data}}", dataDir, "{{modules}}", slapdModuleDir,
		"{{schema}}", slapdSchemaDir, "{{base}}", s.BaseDN, "{{admin}}", s.AdminDN, "{{pw}}", s.AdminPassword,
	).Replace(`dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {{dir}}/slapd.pid
olcArgsFile: {{dir}}/slapd.args
olcLogLevel: none
olcTLSCACertificateFile: {{dir}}/ca.pem
olcTLSCertificateFile: {{dir}}/server.pem
olcTLSCertificateKeyFile: {{dir}}/server.key

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
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by * read

dn: olcOverlay={0}ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {0}ppolicy
`)
}

// dataLDIF is the base entries the fixtures do not have, then the fixtures.
func (s *Slapd) dataLDIF(fixtures []string) string {
	have := map[string]bool{}
	for _, f := range fixtures {
		for _, line := range strings.Split(f, "\n") {
			if dn, ok := strings.CutPrefix(strings.TrimSpace(line), "dn:"); ok {
				have[normDN(dn)] = true
			}
		}
	}
	var b strings.Builder
	if !have[normDN(s.BaseDN)] {
		b.WriteString("dn: " + s.BaseDN + "\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n")
	}
	if !have[normDN(s.PeopleDN)] {
		b.WriteString("dn: " + s.PeopleDN + "\nobjectClass: organizationalUnit\nou: people\n\n")
	}
	for _, f := range fixtures {
		b.WriteString(strings.TrimSpace(strings.ReplaceAll(f, "\r\n", "\n")))
		b.WriteString("\n\n")
	}
	return b.String()
}

// normDN is good enough to spot the base entries in a fixture.
func normDN(dn string) string {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(dn)), ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return strings.Join(parts, ",")
}

// start runs slapd in the foreground (-d keeps it from detaching, so we own
// its pid) and waits until the admin can bind.
func (s *Slapd) start() error {
	urls := fmt.Sprintf("ldap://%s:%d/ ldaps://%s:%d/", s.Host, s.Port, s.Host, s.TLSPort)
	cmd := exec.Command(s.slapd, "-d", "0", "-h", urls, "-F", s.cfgDir)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = s.log, s.log
	// mdb survives a kill, and a slapd left behind by a dead test process
	// would hold its port and directory.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testenv: start slapd: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done

	url := fmt.Sprintf("ldap://%s:%d", s.Host, s.Port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := s.tryBind(url)
		if err == nil {
			return nil
		}
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("testenv: slapd exited at start (ports %d, %d): %v\n%s", s.Port, s.TLSPort, cmd.ProcessState, s.log.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = s.stop()
			return fmt.Errorf("testenv: slapd not answering after 30s: %w\n%s", err, s.log.String())
		}
	}
}

func (s *Slapd) tryBind(url string) error {
	conn, err := ldap.DialURL(url, ldap.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}))
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetTimeout(2 * time.Second)
	return conn.Bind(s.AdminDN, s.AdminPassword)
}

// stop ends slapd (SIGTERM, then SIGKILL after 10s) and waits for it.
func (s *Slapd) stop() error {
	if s.cmd == nil {
		return nil
	}
	cmd, done := s.cmd, s.done
	s.cmd = nil
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return errors.New("testenv: slapd did not stop within 10s of SIGTERM; killed it")
	}
}

// Stop stops the server and keeps its data, to simulate a directory that
// goes down. Call it from the test that started the server.
func (s *Slapd) Stop() {
	s.tb.Helper()
	if err := s.stop(); err != nil {
		s.tb.Fatalf("%v", err)
	}
}

// Start starts a stopped server again on the same ports with the same data,
// and waits until it answers.
func (s *Slapd) Start() {
	s.tb.Helper()
	if s.cmd != nil {
		s.tb.Fatalf("testenv: slapd is already running")
	}
	if err := s.start(); err != nil {
		s.tb.Fatalf("%v", err)
	}
}

// Modify applies LDIF change records (changetype: add, modify, delete,
// modrdn; every record needs one) as the rootdn, through ldapmodify.
func (s *Slapd) Modify(tb testing.TB, ldif string) {
	tb.Helper()
	bin, err := lookBin("ldapmodify", "/usr/bin/ldapmodify")
	Require(tb, "ldapmodify (ldap-utils)", err)
	f, err := os.CreateTemp(s.dir, "modify-*.ldif")
	if err != nil {
		tb.Fatalf("testenv: modify: %v", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(ldif); err != nil {
		tb.Fatalf("testenv: modify: %v", err)
	}
	if err := f.Close(); err != nil {
		tb.Fatalf("testenv: modify: %v", err)
	}
	out, err := exec.Command(bin, "-x", "-H", s.URL, "-D", s.AdminDN, "-w", s.AdminPassword, "-f", f.Name()).CombinedOutput()
	if err != nil {
		tb.Fatalf("testenv: ldapmodify: %v\n%s", err, out)
	}
}

// Conn returns a connection bound as the rootdn, with a 10s timeout,
// closed when tb ends.
func (s *Slapd) Conn(tb testing.TB) *ldap.Conn {
	tb.Helper()
	conn, err := ldap.DialURL(s.URL)
	if err != nil {
		tb.Fatalf("testenv: dial slapd: %v", err)
	}
	tb.Cleanup(func() { conn.Close() })
	conn.SetTimeout(10 * time.Second)
	if err := conn.Bind(s.AdminDN, s.AdminPassword); err != nil {
		tb.Fatalf("testenv: bind to slapd as %s: %v", s.AdminDN, err)
	}
	return conn
}

// TLSConfig trusts the server's CA, for StartTLS and ldaps:// clients.
func (s *Slapd) TLSConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(s.CACertPEM))
	return &tls.Config{RootCAs: pool, ServerName: s.Host, MinVersion: tls.VersionTLS12}
}
