package domain

import (
	"regexp"
	"time"
)

// AccountRole separates who may administer from who may operate.
type AccountRole string

const (
	RoleAdministrator AccountRole = "administrator"
	RoleOperator      AccountRole = "operator"
)

// ParseAccountRole accepts "administrator" or "operator".
func ParseAccountRole(s string) (AccountRole, error) {
	switch AccountRole(s) {
	case RoleAdministrator, RoleOperator:
		return AccountRole(s), nil
	}
	return "", Errorf(EINVALID, "Unknown role %q: use administrator or operator", s)
}

// CanOperate reports whether the role may use the Operator UI.
func (r AccountRole) CanOperate() bool { return r == RoleAdministrator || r == RoleOperator }

// CanAdminister reports whether the role may use the Admin UI.
func (r AccountRole) CanAdminister() bool { return r == RoleAdministrator }

// Account is someone who signs in to Admin or Operator.
type Account struct {
	ID           string      `gorm:"column:id;primaryKey"`
	Username     string      `gorm:"column:username"`
	Role         AccountRole `gorm:"column:role"`
	PasswordHash string      `gorm:"column:password_hash"`
	Disabled     bool        `gorm:"column:disabled"`
	CreatedAt    time.Time   `gorm:"column:created_at"`
	UpdatedAt    time.Time   `gorm:"column:updated_at"`
	LastLoginAt  *time.Time  `gorm:"column:last_login_at"`
}

func (Account) TableName() string { return "accounts" }

var accountNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// ValidateAccountName checks an account name: 1–64 letters, digits, '.', '_', '@' or '-'.
func ValidateAccountName(name string) error {
	if !accountNameRE.MatchString(name) {
		return Errorf(EINVALID, "Account name must be 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
	}
	return nil
}

// ValidatePassword checks a new password: 12 to 72 bytes (bcrypt uses the
// first 72 and ignores the rest, so a longer one is refused rather than cut),
// UTF-8 text without NUL bytes (the sign-in form could never send those).
func ValidatePassword(pw string) error {
	switch {
	case len(pw) < 12:
		return Errorf(EINVALID, "Password must be at least 12 characters")
	case len(pw) > 72:
		return Errorf(EINVALID, "Password must be at most 72 bytes (a bcrypt limit); this one is %d", len(pw))
	}
	if p := encodingProblem(pw); p != "" {
		return Errorf(EINVALID, "Password %s", p)
	}
	return nil
}

// Session is a signed-in browser. The cookie carries a random token; the
// database keeps only its SHA-256 hash.
type Session struct {
	TokenHash  string    `gorm:"column:token_hash;primaryKey"`
	AccountID  string    `gorm:"column:account_id"`
	CreatedAt  time.Time `gorm:"column:created_at"`
	LastSeenAt time.Time `gorm:"column:last_seen_at"`
	ExpiresAt  time.Time `gorm:"column:expires_at"`
	Flash      string    `gorm:"column:flash"`
}

func (Session) TableName() string { return "sessions" }

// LoginFailure counts failed logins for one key ("account:NAME" or "addr:IP").
type LoginFailure struct {
	Key          string     `gorm:"column:key;primaryKey"`
	Count        int        `gorm:"column:count"`
	FirstAt      time.Time  `gorm:"column:first_at"`
	BlockedUntil *time.Time `gorm:"column:blocked_until"`
}

func (LoginFailure) TableName() string { return "login_failures" }

// CheckOwnAccount refuses what nobody does to their own account, named by
// (an account name, or cli:USER for the command line): disabling it.
func CheckOwnAccount(name, by string) error {
	if name == by {
		return Errorf(EINVALID, "You cannot disable your own account.")
	}
	return nil
}

// CheckDisable (the rule of disabling account a, asked by by): nobody
// disables their own account, and the last enabled administrator stays
// enabled, so that someone can still administer. otherAdmins counts the
// enabled administrators other than a.
func CheckDisable(a Account, by string, otherAdmins int) error {
	if err := CheckOwnAccount(a.Username, by); err != nil {
		return err
	}
	if a.Role == RoleAdministrator && !a.Disabled && otherAdmins == 0 {
		return lastAdministrator(a)
	}
	return nil
}

// lastAdministrator refuses to leave no enabled administrator.
func lastAdministrator(a Account) error {
	return Errorf(ECONFLICT, "%s is the last enabled administrator: make another account an administrator first, so that someone can still administer.", a.Username)
}

// CheckRoleChange is the rule every entry point (the Admin page, idm account
// role) gives account a the role next by, asked by by (an account name, or
// cli:USER for the command line): nobody changes their own role (another
// administrator can), and the last enabled administrator stays one, so that
// someone can still administer. otherAdmins counts the enabled
// administrators other than a.
func CheckRoleChange(a Account, next AccountRole, by string, otherAdmins int) error {
	if a.Username == by {
		return Errorf(EINVALID, "You cannot change your own role: another administrator can.")
	}
	if a.Role == RoleAdministrator && next != RoleAdministrator && !a.Disabled && otherAdmins == 0 {
		return lastAdministrator(a)
	}
	return nil
}
