package vision

import (
	"errors"
	"sync"
)

var (
	defaultMu   sync.RWMutex
	defaultName string
	defaultLoad func(opts ...Option) (*Model, error)
)

// ErrNoDefault is returned by Default when no default model is linked in.
var ErrNoDefault = errors.New("vision: no default model is built in (use Load with a file or preset)")

// RegisterDefault installs the model Default returns, typically a small
// model embedded in the binary (its package calls this from init, e.g. by
// writing the embedded weights to a cache file and calling Load). name
// describes it for messages. A later call replaces an earlier one.
func RegisterDefault(name string, load func(opts ...Option) (*Model, error)) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	defaultName, defaultLoad = name, load
}

// DefaultName returns the registered default model's name, or "" if none.
func DefaultName() string {
	defaultMu.RLock()
	defer defaultMu.RUnlock()
	return defaultName
}

// Default loads the built-in default model (see RegisterDefault), or
// returns ErrNoDefault.
func Default(opts ...Option) (*Model, error) {
	defaultMu.RLock()
	load := defaultLoad
	defaultMu.RUnlock()
	if load == nil {
		return nil, ErrNoDefault
	}
	return load(opts...)
}
