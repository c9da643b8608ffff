package domain

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// UserState is the state of a person in the identity store.
type UserState string

const (
	UserActive   UserState = "active"
	UserInactive UserState = "inactive"
)

// User sources: where a person record came from.
const (
	SourceLDAP   = "ldap"
	SourceImport = "import"
)

// Person is what the directory says about someone, after attribute mapping.
// The sync engine compares it with the stored User.
type Person struct {
	DN             string
	DirectoryID    string // stable identifier (entryUUID, objectGUID), "" when the directory has none
	Username       string
	GivenName      string
	Surname        string
	DisplayName    string
	Email          string
	Phone          string
	Title          string
	Department     string
	EmployeeNumber string
}

// User is a person in the identity store.
type User struct {
	ID             string     `gorm:"column:id;primaryKey"`
	Username       string     `gorm:"column:username"`
	DirectoryID    *string    `gorm:"column:directory_id"`
	DN             string     `gorm:"column:dn"`
	GivenName      string     `gorm:"column:given_name"`
	Surname        string     `gorm:"column:surname"`
	DisplayName    string     `gorm:"column:display_name"`
	Email          string     `gorm:"column:email"`
	Phone          string     `gorm:"column:phone"`
	Title          string     `gorm:"column:title"`
	Department     string     `gorm:"column:department"`
	EmployeeNumber string     `gorm:"column:employee_number"`
	State          UserState  `gorm:"column:state"`
	Source         string     `gorm:"column:source"`
	CreatedAt      time.Time  `gorm:"column:created_at"`
	UpdatedAt      time.Time  `gorm:"column:updated_at"`
	LastSyncedAt   *time.Time `gorm:"column:last_synced_at"`
}

func (User) TableName() string { return "users" }

// FieldChange is one field's move from Before to After.
type FieldChange struct {
	Field  string `json:"field"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// FieldLimits are the column widths of the mapped fields; a directory value
// longer than its column is refused, never truncated.
var FieldLimits = map[string]int{
	"username": 256, "directory_id": 256, "dn": 1024, "given_name": 256, "surname": 256,
	"display_name": 256, "email": 256, "phone": 64, "title": 256, "department": 256,
	"employee_number": 64,
}

// PersonFields lists the mapped fields of p in a fixed order, as (column, value).
func PersonFields(p Person) [][2]string {
	return [][2]string{
		{"username", p.Username}, {"dn", p.DN}, {"given_name", p.GivenName}, {"surname", p.Surname},
		{"display_name", p.DisplayName}, {"email", p.Email}, {"phone", p.Phone}, {"title", p.Title},
		{"department", p.Department}, {"employee_number", p.EmployeeNumber},
	}
}

// ValidatePerson checks what the engine (and the import) needs of a person
// before it can be stored: a username, and every value one line of text
// within its column.
func ValidatePerson(p Person) error {
	if p.Username == "" {
		return Errorf(EINVALID, "entry %s has no username attribute value", p.DN)
	}
	if bad := lineTextProblem(p.DN); bad != "" {
		return Errorf(EINVALID, "entry %q: the DN %s", p.DN, bad)
	}
	fields := PersonFields(p)
	for _, f := range fields {
		if bad := lineTextProblem(f[1]); bad != "" {
			return Errorf(EINVALID, "%s: %s %s", p.where(), f[0], bad)
		}
	}
	if bad := lineTextProblem(p.DirectoryID); bad != "" {
		return Errorf(EINVALID, "%s: directory_id %s", p.where(), bad)
	}
	if limit := FieldLimits["directory_id"]; lengthProblem(p.DirectoryID, limit) != "" {
		return Errorf(EINVALID, "%s: stable identifier is longer than %d characters", p.where(), limit)
	}
	for _, f := range fields {
		if limit := FieldLimits[f[0]]; lengthProblem(f[1], limit) != "" {
			return Errorf(EINVALID, "%s: %s is %d characters, longer than the %d allowed", p.where(), f[0], utf8.RuneCountInString(f[1]), limit)
		}
	}
	return nil
}

// where names the person in a message: its entry's DN, or (a record without
// one) its username.
func (p Person) where() string {
	if p.DN != "" {
		return "entry " + p.DN
	}
	return fmt.Sprintf("user %q", p.Username)
}

// UserFields lists the mapped fields of u in the same order as PersonFields.
func UserFields(u *User) [][2]string {
	return PersonFields(Person{
		DN: u.DN, Username: u.Username, GivenName: u.GivenName, Surname: u.Surname,
		DisplayName: u.DisplayName, Email: u.Email, Phone: u.Phone, Title: u.Title,
		Department: u.Department, EmployeeNumber: u.EmployeeNumber,
	})
}

// DiffPerson returns the field changes that would bring u in line with p,
// including the stable identifier when the directory has one and u differs.
func DiffPerson(u *User, p Person) []FieldChange {
	var changes []FieldChange
	have, want := UserFields(u), PersonFields(p)
	for i := range have {
		if have[i][1] != want[i][1] {
			changes = append(changes, FieldChange{Field: have[i][0], Before: have[i][1], After: want[i][1]})
		}
	}
	if p.DirectoryID != "" && (u.DirectoryID == nil || *u.DirectoryID != p.DirectoryID) {
		before := ""
		if u.DirectoryID != nil {
			before = *u.DirectoryID
		}
		changes = append(changes, FieldChange{Field: "directory_id", Before: before, After: p.DirectoryID})
	}
	return changes
}

// ApplyPerson copies p's mapped fields onto u.
func ApplyPerson(u *User, p Person) {
	u.Username, u.DN = p.Username, p.DN
	u.GivenName, u.Surname, u.DisplayName = p.GivenName, p.Surname, p.DisplayName
	u.Email, u.Phone, u.Title = p.Email, p.Phone, p.Title
	u.Department, u.EmployeeNumber = p.Department, p.EmployeeNumber
	if p.DirectoryID != "" {
		id := p.DirectoryID
		u.DirectoryID = &id
	}
}
