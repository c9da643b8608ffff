package testenv

import (
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// sambaRecipe names what the template holds; change it whenever the
// provisioning, the configuration or the population changes, so that
// machines build a new template instead of reusing an old one.
const sambaRecipe = "samba-template-3"

// Debian's locations; lookBin falls back to PATH.
const (
	sambaBinPath      = "/usr/sbin/samba"
	sambaToolPath     = "/usr/bin/samba-tool"
	sambaLdbAddPath   = "/usr/bin/ldbadd"
	sambaLdbSrchPath  = "/usr/bin/ldbsearch"
	sambaProvisionDir = "/usr/share/samba/setup/ad-schema" // Debian package samba-ad-provision
)

// sambaBins are the programs a Samba domain controller needs.
type sambaBins struct {
	samba, tool, ldbadd, ldbsearch string
}

func findSambaBins() (sambaBins, error) {
	var b sambaBins
	var err error
	if b.samba, err = lookBin("samba", sambaBinPath); err != nil {
		return b, err
	}
	if b.tool, err = lookBin("samba-tool", sambaToolPath); err != nil {
		return b, err
	}
	if b.ldbadd, err = lookBin("ldbadd", sambaLdbAddPath); err != nil {
		return b, err
	}
	if b.ldbsearch, err = lookBin("ldbsearch", sambaLdbSrchPath); err != nil {
		return b, err
	}
	if _, err := os.Stat(sambaProvisionDir); err != nil {
		return b, fmt.Errorf("testenv: samba-tool domain provision needs the AD schema of Debian's samba-ad-provision: %w", err)
	}
	return b, nil
}

// sambaTemplate returns a provisioned domain controller directory with the
// population loaded and the DC's own TLS certificate generated, made once
// per machine, Samba build and recipe and kept in the temporary directory:
// provisioning and loading take about 20 seconds, a copy a fraction of one.
// A lock file keeps test processes that start at once from building it
// twice; it is built beside its final name and renamed into place.
func sambaTemplate(bins sambaBins) (string, error) {
	key := sambaRecipe + "|" + sambaPeopleLDIF()
	for _, p := range []string{bins.samba, bins.tool, sambaProvisionDir} {
		st, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("testenv: samba: %w", err)
		}
		key += fmt.Sprintf("|%s|%d|%d", p, st.Size(), st.ModTime().UnixNano())
	}
	final := filepath.Join(os.TempDir(), fmt.Sprintf("idm-testenv-sambatemplate-%d-%x", os.Getuid(), fnv64(key)))
	if sambaTemplateReady(final) {
		return final, nil
	}
	unlock, err := lockFile(final + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if sambaTemplateReady(final) {
		return final, nil // another process built it while we waited
	}
	work, err := os.MkdirTemp(os.TempDir(), "idm-testenv-sambabuild-")
	if err != nil {
		return "", fmt.Errorf("testenv: samba template: %w", err)
	}
	defer os.RemoveAll(work)
	dc := filepath.Join(work, "dc")
	if err := buildSambaTemplate(bins, dc); err != nil {
		return "", err
	}
	if err := os.Rename(dc, final); err != nil {
		return "", fmt.Errorf("testenv: keep the samba template: %w", err)
	}
	return final, nil
}

func sambaTemplateReady(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "private", "tls", "cert.pem"))
	return err == nil
}

// lockFile takes an exclusive flock on path, waiting for it.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("testenv: lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("testenv: lock %s: %w", path, err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// buildSambaTemplate provisions the domain into dir, loads the population
// and has Samba generate its own certificate.
func buildSambaTemplate(bins sambaBins, dir string) error {
	start := time.Now()
	out, err := exec.Command(bins.tool, "domain", "provision",
		"--realm="+SambaRealm, "--domain="+SambaDomain, "--server-role=dc",
		// SAMBA_INTERNAL rather than NONE: it makes the DomainDnsZones and
		// ForestDnsZones partitions, so that a search from the domain root
		// returns the three continuation references a Windows DC returns.
		// The DNS server itself is not started (server services = ldap).
		"--dns-backend=SAMBA_INTERNAL", "--use-rfc2307",
		"--host-name="+sambaHostName, "--host-ip=127.0.0.1",
		"--adminpass="+SambaAdminPassword, "--targetdir="+dir,
		"--option=interfaces=lo", "--option=bind interfaces only=yes").CombinedOutput()
	if err != nil {
		return fmt.Errorf("testenv: samba-tool domain provision: %w\n%s", err, tail(out))
	}
	provisioned := time.Since(start)
	if err := writeSambaConf(dir, nil); err != nil {
		return err
	}
	ldif := filepath.Join(dir, "people.ldif")
	if err := os.WriteFile(ldif, []byte(sambaPeopleLDIF()), 0o600); err != nil {
		return fmt.Errorf("testenv: samba people: %w", err)
	}
	// ldbadd on the stopped DC is three times faster than LDAP adds to a
	// running one (10 s against 31 s for 2,100 users on two cores): one
	// transaction, no network, no TLS.
	if out, err := exec.Command(bins.ldbadd, "-H", filepath.Join(dir, "private", "sam.ldb"),
		"--configfile="+sambaConfPath(dir), ldif).CombinedOutput(); err != nil {
		return fmt.Errorf("testenv: ldbadd the samba people: %w\n%s", err, tail(out))
	}
	_ = os.Remove(ldif)
	loaded := time.Since(start) - provisioned
	if err := generateSambaCert(bins, dir); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "testenv: samba template built in %s (provision %s, %d users loaded in %s, certificate %s)\n",
		time.Since(start).Round(100*time.Millisecond), provisioned.Round(100*time.Millisecond), SambaPeopleCount,
		loaded.Round(100*time.Millisecond), (time.Since(start) - provisioned - loaded).Round(100*time.Millisecond))
	return nil
}

// generateSambaCert starts the DC once so that it writes its own TLS
// certificate, as a new Samba DC does on its first start, and makes sure
// that its serial number is negative: that is the certificate the tests
// must cope with, and it must not depend on the second the template was
// built in.
//
// Samba 4.17 (source4/lib/tls/tlscert.c) writes time(NULL) as the serial,
// in the machine's byte order: on little-endian machines the serial's first
// byte is the low byte of the Unix time, so the serial is negative during
// the upper half of every 256 seconds. Outside that half we wait for it (at
// most 128 s, once per machine).
func generateSambaCert(bins sambaBins, dir string) error {
	tlsDir := filepath.Join(dir, "private", "tls")
	for attempt := 1; ; attempt++ {
		if wait := negativeSerialWait(time.Now()); wait > 0 {
			fmt.Fprintf(os.Stderr, "testenv: samba template: waiting %s for a second in which Samba writes a negative certificate serial\n", wait)
			time.Sleep(wait)
		}
		for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
			_ = os.Remove(filepath.Join(tlsDir, f))
		}
		p, err := startSambaProc(bins.samba, dir)
		if err != nil {
			return err
		}
		if err := p.stop(); err != nil {
			return err
		}
		pemBytes, err := os.ReadFile(filepath.Join(tlsDir, "cert.pem"))
		if err != nil {
			return fmt.Errorf("testenv: samba did not write its certificate: %w\n%s", err, p.log.String())
		}
		serial, err := pemSerial(pemBytes)
		if err != nil {
			return err
		}
		if serial.Sign() < 0 || attempt == 3 {
			// After three tries the serial is not time based any more: keep
			// it; the tests that need a negative one say so.
			return nil
		}
	}
}

// negativeSerialWait is how long after now the next second begins whose
// low byte has its top bit set: the seconds in which Samba's serial is
// negative.
func negativeSerialWait(now time.Time) time.Duration {
	low := now.Unix() & 0xff
	if low >= 0x80 {
		return 0
	}
	return time.Duration(0x80-low)*time.Second - time.Duration(now.Nanosecond())
}

// pemSerial reads the serial number of a PEM certificate without
// crypto/x509, which refuses negative serials unless x509negativeserial=1.
func pemSerial(pemBytes []byte) (*big.Int, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("testenv: samba certificate: no PEM block")
	}
	in := cryptobyte.String(block.Bytes)
	var cert, tbs cryptobyte.String
	serial := new(big.Int)
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) || !tbs.ReadASN1Integer(serial) {
		return nil, errors.New("testenv: samba certificate: malformed DER")
	}
	return serial, nil
}

// sambaConfPath is the configuration file of the DC in dir.
func sambaConfPath(dir string) string { return filepath.Join(dir, "etc", "smb.conf") }

// sambaTLSFiles are a certificate, its key and its CA for the DC to use
// instead of its own.
type sambaTLSFiles struct{ cert, key, ca string }

// writeSambaConf writes the DC's smb.conf for dir: every path inside dir
// (the provisioned one points at the template's directory), only the LDAP
// server (LDAP, LDAPS and the global catalog) among Samba's services, on
// the loopback of its own network namespace.
func writeSambaConf(dir string, tls *sambaTLSFiles) error {
	for _, d := range []string{"run", "log", "cache", "state", "bind-dns"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return fmt.Errorf("testenv: samba directory: %w", err)
		}
	}
	conf := strings.NewReplacer("{{dir}}", dir, "{{netbios}}", sambaHostName, "{{realm}}", SambaRealm,
		"{{domain}}", SambaDomain).Replace(`[global]
	netbios name = {{netbios}}
	realm = {{realm}}
	workgroup = {{domain}}
	server role = active directory domain controller
	server services = ldap
	interfaces = lo
	bind interfaces only = yes
	prefork children = 2
	idmap_ldb:use rfc2307 = yes
	private dir = {{dir}}/private
	lock directory = {{dir}}
	state directory = {{dir}}/state
	cache directory = {{dir}}/cache
	binddns dir = {{dir}}/bind-dns
	pid directory = {{dir}}/run
	ncalrpc dir = {{dir}}/run/ncalrpc
	winbindd socket directory = {{dir}}/run/winbindd
	ntp signd socket directory = {{dir}}/run/ntp_signd
	log file = {{dir}}/log/log.%m
	log level = 1
`)
	if tls != nil {
		conf += fmt.Sprintf("\ttls certfile = %s\n\ttls keyfile = %s\n\ttls cafile = %s\n", tls.cert, tls.key, tls.ca)
	}
	if err := os.WriteFile(sambaConfPath(dir), []byte(conf), 0o644); err != nil {
		return fmt.Errorf("testenv: samba configuration: %w", err)
	}
	return nil
}

// tail is the end of a command's output, for error messages.
func tail(out []byte) string {
	const max = 4000
	if len(out) > max {
		return "…" + string(out[len(out)-max:])
	}
	return string(out)
}
