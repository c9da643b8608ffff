package cli

// ParseUserRecord exposes the import parser to the fuzz test in cli_test.
var ParseUserRecord = parseUserRecord
