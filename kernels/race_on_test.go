//go:build race

package kernels

// raceEnabled: the race detector makes sync.Pool drop a share of what is Put
// on purpose, so allocation counts mean nothing under -race.
const raceEnabled = true
