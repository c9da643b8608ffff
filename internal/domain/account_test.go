package domain

import "testing"

// The accounts the account rules are tried on.
var (
	admin         = Account{Username: "alice", Role: RoleAdministrator}
	disabledAdmin = Account{Username: "alice", Role: RoleAdministrator, Disabled: true}
	operator      = Account{Username: "olle", Role: RoleOperator}
)

func TestCheckRoleChange(t *testing.T) {
	for _, tc := range []struct {
		name        string
		a           Account
		next        AccountRole
		by          string
		otherAdmins int
		code        string
	}{
		{"OKDemoteWithAnotherAdministrator", admin, RoleOperator, "bob", 1, ""},
		{"OKDemoteFromTheCommandLine", admin, RoleOperator, "cli:root", 1, ""},
		{"OKPromote", operator, RoleAdministrator, "alice", 0, ""},
		{"OKLastAdministratorStaysOne", admin, RoleAdministrator, "cli:root", 0, ""},
		{"OKDisabledAdministratorIsNotTheLast", disabledAdmin, RoleOperator, "cli:root", 0, ""},
		{"ErrOwnRole", operator, RoleAdministrator, "olle", 1, EINVALID},
		{"ErrOwnRoleEvenUnchanged", admin, RoleAdministrator, "alice", 1, EINVALID},
		{"ErrLastAdministrator", admin, RoleOperator, "cli:root", 0, ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckRoleChange(tc.a, tc.next, tc.by, tc.otherAdmins)
			if code := ErrorCode(err); code != tc.code {
				t.Fatalf("CheckRoleChange = %v (code %q), want code %q", err, code, tc.code)
			}
		})
	}
}

func TestCheckDisable(t *testing.T) {
	for _, tc := range []struct {
		name        string
		a           Account
		by          string
		otherAdmins int
		code        string
	}{
		{"OKAdministratorWithAnother", admin, "bob", 1, ""},
		{"OKLastOperator", operator, "alice", 0, ""},
		{"OKAlreadyDisabledAdministrator", disabledAdmin, "cli:root", 0, ""},
		{"ErrOwnAccount", operator, "olle", 1, EINVALID},
		{"ErrOwnAccountAsAdministrator", admin, "alice", 3, EINVALID},
		{"ErrLastAdministrator", admin, "cli:root", 0, ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckDisable(tc.a, tc.by, tc.otherAdmins)
			if code := ErrorCode(err); code != tc.code {
				t.Fatalf("CheckDisable = %v (code %q), want code %q", err, code, tc.code)
			}
		})
	}
}
