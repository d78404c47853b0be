//go:build !unix

package checkpoint

import (
	"io"
	"os"
)

// mapFile reads the whole file where memory mapping is unavailable.
func mapFile(f *os.File, size int) ([]byte, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, err
	}
	return b, nil
}

func unmap([]byte) error { return nil }
