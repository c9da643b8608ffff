package domain

import "time"

// AuditEvent records who changed what and when.
type AuditEvent struct {
	ID     string    `gorm:"column:id;primaryKey"`
	At     time.Time `gorm:"column:at"`
	Actor  string    `gorm:"column:actor"`
	Action string    `gorm:"column:action"`
	Target string    `gorm:"column:target"`
	Detail string    `gorm:"column:detail"`
}

func (AuditEvent) TableName() string { return "audit_events" }

// Audit actions.
const (
	AuditScheduleSave      = "schedule.save"
	AuditLDAPSave          = "ldap.save"
	AuditThresholdOverride = "ldap.threshold_override"
	AuditAccountCreate     = "account.create"
	AuditAccountPassword   = "account.password"
	AuditAccountDisable    = "account.disable"
	AuditCacheClear        = "cache.clear"
	AuditJobRun            = "job.run"
	AuditTokenCreate       = "token.create"
	AuditTokenRevoke       = "token.revoke"
)
