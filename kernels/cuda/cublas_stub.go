//go:build !cgo || !linux

package cuda

// Without cgo there is no backend, hence no cuBLAS.
func blasOpen(cuContext, cuStream, []string) (blasHandle, string, int, error) {
	return nil, "", 0, ErrNotBuilt
}

func blasGemm(cuContext, blasHandle, int, int, int, int, int, uint64, int, int, uint64, int, int, uint64, int, int, int, int) error {
	return ErrNotBuilt
}
