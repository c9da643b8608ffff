package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"idm/internal/cli"
	"idm/internal/store"
)

// phaseImport is (f): `idm import` of the locked people with their
// holdings into an empty store, run as the command runs.
const phaseImport = "import"

// importRecord is one line of the import format (docs/import-format.md).
type importRecord struct {
	Username       string             `json:"username"`
	DirectoryID    string             `json:"directory_id,omitempty"`
	DN             string             `json:"dn,omitempty"`
	GivenName      string             `json:"given_name,omitempty"`
	Surname        string             `json:"surname,omitempty"`
	DisplayName    string             `json:"display_name,omitempty"`
	Email          string             `json:"email,omitempty"`
	Phone          string             `json:"phone,omitempty"`
	Title          string             `json:"title,omitempty"`
	Department     string             `json:"department,omitempty"`
	EmployeeNumber string             `json:"employee_number,omitempty"`
	State          string             `json:"state"`
	Source         string             `json:"source"`
	Credentials    []importCredential `json:"credentials"`
	Roles          []string           `json:"roles"`
}

type importCredential struct {
	Type         string              `json:"type"`
	Serial       string              `json:"serial"`
	State        string              `json:"state"`
	Certificates []importCertificate `json:"certificates"`
}

type importCertificate struct {
	Serial    string    `json:"serial"`
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	State     string    `json:"state"`
}

// importRecordOf is holder d in the import format.
func importRecordOf(d store.UserDetail) importRecord {
	r := importRecord{
		Username: d.Username, DirectoryID: *d.DirectoryID, DN: d.DN, GivenName: d.GivenName, Surname: d.Surname,
		DisplayName: d.DisplayName, Email: d.Email, Phone: d.Phone, Title: d.Title, Department: d.Department,
		EmployeeNumber: d.EmployeeNumber, State: string(d.State), Source: d.Source,
	}
	for _, c := range d.Credentials {
		ic := importCredential{Type: string(c.Type), Serial: c.Serial, State: string(c.State)}
		for _, k := range c.Certificates {
			ic.Certificates = append(ic.Certificates, importCertificate{
				Serial: k.Serial, Subject: k.Subject, Issuer: k.Issuer, NotBefore: k.NotBefore, NotAfter: k.NotAfter, State: string(k.State)})
		}
		r.Credentials = append(r.Credentials, ic)
	}
	for _, role := range d.Roles {
		r.Roles = append(r.Roles, role.RoleName)
	}
	return r
}

// writeHolders writes every locked person of pop, as holder(i) describes
// them, to path in the import format. It returns how many it wrote.
func writeHolders(path string, pop population) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("holders: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	now := time.Now().UTC().Truncate(time.Second)
	n := 0
	for i := range pop.n {
		if !pop.inactive(i) {
			continue
		}
		if err := enc.Encode(importRecordOf(holder(i, now))); err != nil {
			f.Close()
			return n, fmt.Errorf("holders: %w", err)
		}
		n++
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return n, fmt.Errorf("holders: %w", err)
	}
	return n, f.Close()
}

// measureImport runs `idm import file` against the store at dbURL, as a
// person runs it (cli.Run, standard error not a terminal), and counts the
// rows it wrote: the store was empty, so they are the rows it holds now.
func measureImport(ctx context.Context, db *store.DB, dbURL, file string, res *phaseResult) error {
	env := map[string]string{"IDM_DATABASE_URL": dbURL, "IDM_SECRET_KEY": os.Getenv(envKey), "IDM_LOG_LEVEL": "error"}
	var out, errOut strings.Builder
	start := time.Now()
	err := cli.Run(ctx, []string{"import", file}, cli.IO{
		Getenv: func(k string) string { return env[k] }, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
	})
	res.WallSeconds = time.Since(start).Seconds()
	if err != nil {
		return fmt.Errorf("import: %w\n%s%.2000s", err, out.String(), errOut.String())
	}
	res.Message = strings.TrimSpace(out.String())
	if _, err := fmt.Sscanf(res.Message, "%d records read", &res.Entries); err != nil {
		return fmt.Errorf("import: unexpected summary %q", res.Message)
	}
	res.RowsByTable = map[string]int64{}
	for table := range dataTables {
		var n int64
		if err := db.Pools()[0].WithContext(ctx).Table(table).Count(&n).Error; err != nil {
			return fmt.Errorf("import: count %s: %w", table, err)
		}
		if n > 0 {
			res.RowsByTable[table] = n
		}
	}
	return nil
}

// importPhase measures (f): the import file of this size into a fresh,
// empty store.
func (b *bench) importPhase(ctx context.Context, dir, dbName string, sl *slapd, n int) (*measurement, error) {
	url, drop, err := b.freshStore(ctx, dir, dbName, sl, n)
	if err != nil {
		return nil, err
	}
	defer drop()
	return b.phase(ctx, url, phaseImport, "(f) import", n, dbName, nil)
}
