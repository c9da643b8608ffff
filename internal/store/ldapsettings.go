package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"idm/internal/domain"
)

// LDAPSettings returns the saved LDAP settings, or the defaults
// (domain.DefaultLDAPSettings, version 0) when none were saved yet.
func (db *DB) LDAPSettings(ctx context.Context) (domain.LDAPSettings, error) {
	var s domain.LDAPSettings
	err := db.read.WithContext(ctx).Where("id = ?", 1).Take(&s).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return domain.DefaultLDAPSettings(), nil
	} else if err != nil {
		return domain.LDAPSettings{}, fmt.Errorf("store: load ldap settings: %w", err)
	}
	return s, nil
}

// SaveLDAPSettings saves s if nobody saved since s.Version was loaded
// (optimistic locking), records an audit event naming the changed fields,
// and returns the saved settings with the new version. The bind password is
// never put in the audit detail: a change says only "bind password changed".
func (db *DB) SaveLDAPSettings(ctx context.Context, s domain.LDAPSettings, actor string) (domain.LDAPSettings, error) {
	err := db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var old domain.LDAPSettings
		err := tx.Where("id = ?", 1).Take(&old).Error
		exists := err == nil
		if !exists && !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("store: load ldap settings: %w", err)
		}
		if !exists {
			old = domain.DefaultLDAPSettings()
		}
		if old.Version != s.Version {
			return domain.Errorf(domain.ECONFLICT, "the LDAP connection was changed by %s at %s since you opened it: reload and apply your changes again",
				old.UpdatedBy, old.UpdatedAt.Format("2006-01-02 15:04:05 MST"))
		}
		s.ID = 1
		s.Version = old.Version + 1
		s.UpdatedAt = db.Now()
		s.UpdatedBy = actor
		if exists {
			res := tx.Model(&domain.LDAPSettings{}).Where("id = ? AND version = ?", 1, old.Version).Select("*").Updates(&s)
			if res.Error != nil {
				return fmt.Errorf("store: save ldap settings: %w", res.Error)
			}
			if res.RowsAffected != 1 {
				return domain.Errorf(domain.ECONFLICT, "the LDAP connection was changed by someone else since you opened it: reload and apply your changes again")
			}
		} else if err := tx.Create(&s).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return domain.Errorf(domain.ECONFLICT, "the LDAP connection was saved by someone else since you opened it: reload and apply your changes again")
			}
			return fmt.Errorf("store: save ldap settings: %w", err)
		}
		return addAudit(tx, domain.AuditEvent{
			At: s.UpdatedAt, Actor: actor, Action: domain.AuditLDAPSave, Target: "ldap_settings",
			Detail: DiffLDAPSettings(&old, &s),
		})
	})
	if err != nil {
		return domain.LDAPSettings{}, err
	}
	return s, nil
}

// DiffLDAPSettings describes what changed from a to b, for the audit log,
// without any secret: the bind password shows as "bind password changed".
func DiffLDAPSettings(a, b *domain.LDAPSettings) string {
	var parts []string
	add := func(name string, x, y any) {
		if fmt.Sprint(x) != fmt.Sprint(y) {
			parts = append(parts, fmt.Sprintf("%s: %q → %q", name, fmt.Sprint(x), fmt.Sprint(y)))
		}
	}
	add("url", a.URL, b.URL)
	add("start_tls", a.StartTLS, b.StartTLS)
	if a.CACert != b.CACert {
		parts = append(parts, "CA certificate changed")
	}
	add("insecure_skip_verify", a.InsecureSkipVerify, b.InsecureSkipVerify)
	add("bind_dn", a.BindDN, b.BindDN)
	if a.BindPasswordEnc != b.BindPasswordEnc {
		parts = append(parts, "bind password changed")
	}
	add("base_dn", a.BaseDN, b.BaseDN)
	add("scope", a.Scope, b.Scope)
	add("active_filter", a.ActiveFilter, b.ActiveFilter)
	add("inactive_filter", a.InactiveFilter, b.InactiveFilter)
	add("page_size", a.PageSize, b.PageSize)
	add("connect_timeout_seconds", a.ConnectTimeoutSeconds, b.ConnectTimeoutSeconds)
	add("search_timeout_seconds", a.SearchTimeoutSeconds, b.SearchTimeoutSeconds)
	add("preset", a.Preset, b.Preset)
	am, bm := a.AttributeMap.Fields(), b.AttributeMap.Fields()
	for i := range am {
		add("map."+am[i][0], am[i][1], bm[i][1])
	}
	add("deactivate_max_users", a.DeactivateMaxUsers, b.DeactivateMaxUsers)
	add("deactivate_max_percent", a.DeactivateMaxPercent, b.DeactivateMaxPercent)
	add("shrink_max_percent", a.ShrinkMaxPercent, b.ShrinkMaxPercent)
	add("allow_next_past_threshold", a.AllowNextPastThreshold, b.AllowNextPastThreshold)
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, "; ")
}

// SetThresholdOverride allows (or stops allowing) the next inactive run to
// deactivate more users than the limit, and audits it.
func (db *DB) SetThresholdOverride(ctx context.Context, allow bool, actor string) error {
	return db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var s domain.LDAPSettings
		err := tx.Where("id = ?", 1).Take(&s).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return domain.Errorf(domain.EINVALID, "configure the LDAP connection first")
		} else if err != nil {
			return fmt.Errorf("store: load ldap settings: %w", err)
		}
		if err := tx.Model(&domain.LDAPSettings{}).Where("id = ?", 1).
			Update("allow_next_past_threshold", allow).Error; err != nil {
			return fmt.Errorf("store: set threshold override: %w", err)
		}
		detail := "the next inactive run may deactivate more users than the limit"
		if !allow {
			detail = "the permission for the next inactive run to pass the limit was withdrawn"
		}
		return addAudit(tx, domain.AuditEvent{Actor: actor, Action: domain.AuditThresholdOverride, Target: "ldap_settings", Detail: detail})
	})
}

// ConsumeThresholdOverride uses up the administrator's permission for one
// inactive run to pass the deactivation limit. It reports whether the
// permission was there (only one run can take it) and audits the use.
func (db *DB) ConsumeThresholdOverride(ctx context.Context, runID string) (bool, error) {
	var used bool
	err := db.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&domain.LDAPSettings{}).Where("id = ? AND allow_next_past_threshold = ?", 1, true).
			Update("allow_next_past_threshold", false)
		if res.Error != nil {
			return fmt.Errorf("store: consume threshold override: %w", res.Error)
		}
		used = res.RowsAffected == 1
		if !used {
			return nil
		}
		return addAudit(tx, domain.AuditEvent{
			Actor: "run " + runID, Action: domain.AuditThresholdOverride, Target: "ldap_settings",
			Detail: "the permission to pass the deactivation limit was used by run " + runID,
		})
	})
	return used, err
}
