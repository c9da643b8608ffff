package domain

// Why a safety check stopped a run (Run.StopReason): a small, stable set,
// for metrics labels and notices. The run's message says it in full.
const (
	StopDirectoryUnreachable = "directory_unreachable" // the directory could not be reached
	StopSearchFailed         = "search_failed"         // a search (or the count) failed before anything was written
	StopDeactivationLimit    = "deactivation_limit"    // the inactive job would deactivate more than the limit
	StopDirectoryShrank      = "directory_shrank"      // the active filter found far fewer entries than last time
)

// StopReasons lists every safety-stop reason.
var StopReasons = []string{StopDirectoryUnreachable, StopSearchFailed, StopDeactivationLimit, StopDirectoryShrank}
