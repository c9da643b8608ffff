package domain

import "time"

// Role is a business role that can be assigned to users.
type Role struct {
	ID          string `gorm:"column:id;primaryKey"`
	Name        string `gorm:"column:name"`
	Description string `gorm:"column:description"`
}

func (Role) TableName() string { return "roles" }

// RoleAssignment links a user to a role. A withdrawn assignment keeps its row
// (WithdrawnAt set) so that the history shows what the user held.
type RoleAssignment struct {
	ID          string     `gorm:"column:id;primaryKey"`
	UserID      string     `gorm:"column:user_id"`
	RoleID      string     `gorm:"column:role_id"`
	AssignedAt  time.Time  `gorm:"column:assigned_at"`
	WithdrawnAt *time.Time `gorm:"column:withdrawn_at"`
	WithdrawnBy *string    `gorm:"column:withdrawn_by"` // the run that withdrew it
}

func (RoleAssignment) TableName() string { return "role_assignments" }
