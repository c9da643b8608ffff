package store

import (
	"context"
	"fmt"

	"idm/internal/domain"
)

// Versions are the version numbers of what an administrator saves: each job
// definition and the LDAP settings. They increase with every save, whatever
// the clocks of the instances say.
type Versions struct {
	Jobs map[domain.JobKey]int
	// LDAPSettings is 0 while the settings were never saved, as
	// LDAPSettings returns them.
	LDAPSettings int
}

// settingsRowKey stands for the LDAP settings row among the job keys in the
// query below (job keys are lower-case words, so it cannot clash).
const settingsRowKey = "*ldap_settings"

// ConfigVersions reads every saved version in one small query, for the
// Operator cache's "an administrator changed something" notice.
func (db *DB) ConfigVersions(ctx context.Context) (Versions, error) {
	var rows []struct {
		Key     string `gorm:"column:k"`
		Version int    `gorm:"column:v"`
	}
	// Find, not Scan (see RunsSummary).
	err := db.read.WithContext(ctx).Raw(
		`SELECT key AS k, version AS v FROM batch_jobs UNION ALL SELECT '` + settingsRowKey + `' AS k, version AS v FROM ldap_settings`,
	).Find(&rows).Error
	if err != nil {
		return Versions{}, fmt.Errorf("store: read versions: %w", err)
	}
	v := Versions{Jobs: make(map[domain.JobKey]int, len(rows))}
	for _, r := range rows {
		if r.Key == settingsRowKey {
			v.LDAPSettings = r.Version
		} else {
			v.Jobs[domain.JobKey(r.Key)] = r.Version
		}
	}
	return v, nil
}
