package web_test

import (
	"testing"

	"idm/internal/testenv"
)

// TestMain stops the shared PostgreSQL server after the package's tests.
// It is the package's only TestMain: other test files share it.
func TestMain(m *testing.M) { testenv.Main(m) }
