package domain

import "strconv"

// Checks for what names a thing in a request's path or query: a value that
// no stored row can hold is answered at once, with its reason, and never
// reaches the database (PostgreSQL refuses a NUL byte or invalid UTF-8 with
// an error, SQLite cuts a string at its NUL, so a search for "%00" would
// match everyone).

// CheckSearchText checks the Operator's user search text (the q parameter).
func CheckSearchText(q string) error {
	if p := lineProblem(q, MaxSearchTextLength); p != "" {
		return Invalid("q", "The search text %s.", p)
	}
	return nil
}

// CheckActorName checks the name of someone the audit log records as having
// acted (the audit's who filter): one that no audit row can hold is refused.
func CheckActorName(who string) error {
	if p := lineProblem(who, MaxActorLength); p != "" {
		return Invalid("who", "The person's name %s.", p)
	}
	return nil
}

// CheckUsername checks a username that names a stored user (a user's page):
// one that no user can have is not found.
func CheckUsername(name string) error {
	if name == "" || lineProblem(name, MaxUsernameLength) != "" {
		return Errorf(ENOTFOUND, "There is no user %q.", name)
	}
	return nil
}

// CheckUserID checks the id of a user (a user's page links by id, so that
// every stored username opens): one that no user can have is not found.
func CheckUserID(id string) error {
	if id == "" || lineProblem(id, MaxUserIDLength) != "" {
		return Errorf(ENOTFOUND, "There is no such user (id %q).", id)
	}
	return nil
}

// CheckRunID checks the id of a run (a run's page and its exports).
func CheckRunID(id string) error {
	if id == "" || lineProblem(id, MaxRunIDLength) != "" {
		return Errorf(ENOTFOUND, "There is no run %q.", id)
	}
	return nil
}

// CheckWebhookID checks the id of a webhook (its page and its actions).
func CheckWebhookID(id string) error {
	if id == "" || lineProblem(id, MaxWebhookIDLength) != "" {
		return Errorf(ENOTFOUND, "There is no webhook %q.", id)
	}
	return nil
}

// LookupJobKey is ParseJobKey for a key that names a job in a path: an
// unknown key is not found (NoSuchJob).
func LookupJobKey(s string) (JobKey, error) {
	k, err := ParseJobKey(s)
	if err != nil {
		return "", NoSuchJob(s)
	}
	return k, nil
}

// CheckAccountLookup checks an account name that names a stored account (an
// account's actions): one that ValidateAccountName refuses cannot exist.
func CheckAccountLookup(name string) error {
	if ValidateAccountName(name) != nil {
		return Errorf(ENOTFOUND, "There is no account %q.", name)
	}
	return nil
}

// MaxPage is the highest page number of a paged list: beyond any list's
// length at any page size, and low enough that every offset fits an
// INTEGER.
const MaxPage = 10_000_000

// ParsePage reads the page parameter of a paged list: none is the first
// page; anything but a whole number from 1 to MaxPage is refused.
func ParsePage(s string) (int, error) {
	if s == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxPage {
		return 0, Invalid("page", "There is no page %q: pages are numbered from 1.", s)
	}
	return n, nil
}
