package engine

import "idm/internal/domain"

// Observer is told when a run of this engine starts (its record exists)
// and when it ends (after its final record, which carries the status, the
// counts and, for a safety stop, its reason). Metrics count runs through
// it and the notification worker wakes on it. The calls are made on the
// run's own path: an observer must return at once and never block.
type Observer interface {
	RunStarted(run domain.Run)
	RunFinished(run domain.Run)
}

// Observers tells each of its observers in turn.
type Observers []Observer

func (o Observers) RunStarted(run domain.Run) {
	for _, x := range o {
		x.RunStarted(run)
	}
}

func (o Observers) RunFinished(run domain.Run) {
	for _, x := range o {
		x.RunFinished(run)
	}
}
