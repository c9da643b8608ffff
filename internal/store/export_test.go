package store

// SetImportHook sets the hook called in each transaction of an import
// batch before it commits (see importHook) and returns a function that
// removes it. The test must not run imports in parallel with others.
func SetImportHook(hook func(stage string, records []UserDetail) error) (restore func()) {
	importHook = hook
	return func() { importHook = nil }
}
