//go:build !cgo || !linux

package cuda

import "unsafe"

// Without cgo (or off Linux) the backend is not built: Open reports
// ErrNotBuilt and callers fall back to the CPU.
const cgoBuilt = false

type (
	devptr    = uint64
	cuContext = unsafe.Pointer
	cuModule  = unsafe.Pointer
	cuFunc    = unsafe.Pointer
	cuStream  = unsafe.Pointer
	cuEvent   = unsafe.Pointer
	cuDevice  = int
)

func drvOpen() error                                  { return ErrNotBuilt }
func drvDeviceCount() (int, error)                    { return 0, ErrNotBuilt }
func drvDevice(int) (cuDevice, string, [3]int, error) { return 0, "", [3]int{}, ErrNotBuilt }
func drvCtxRetain(cuDevice) (cuContext, error)        { return nil, ErrNotBuilt }
func drvModuleLoad(cuContext, []byte) (cuModule, error) {
	return nil, ErrNotBuilt
}
func drvFunc(cuContext, cuModule, string) (cuFunc, error) { return nil, ErrNotBuilt }
func drvLaunch(cuContext, cuFunc, [3]uint32, [3]uint32, cuStream, []uint64) error {
	return ErrNotBuilt
}
func drvAlloc(cuContext, int) (devptr, error)                    { return 0, ErrNotBuilt }
func drvFree(cuContext, devptr) error                            { return ErrNotBuilt }
func drvMemInfo(cuContext) (int, int, error)                     { return 0, 0, ErrNotBuilt }
func drvHtoD(cuContext, devptr, []float32, cuStream) error       { return ErrNotBuilt }
func drvDtoH(cuContext, []float32, devptr, cuStream) error       { return ErrNotBuilt }
func drvDtoD(cuContext, devptr, devptr, int, cuStream) error     { return ErrNotBuilt }
func drvMemset32(cuContext, devptr, uint32, int, cuStream) error { return ErrNotBuilt }
func drvStream(cuContext) (cuStream, error)                      { return nil, ErrNotBuilt }
func drvStreamSync(cuContext, cuStream) error                    { return ErrNotBuilt }
func drvEvent(cuContext) (cuEvent, error)                        { return nil, ErrNotBuilt }
func drvEventRecord(cuContext, cuEvent, cuStream) error          { return ErrNotBuilt }
func drvEventElapsed(cuContext, cuEvent, cuEvent) (float32, error) {
	return 0, ErrNotBuilt
}
func drvEventDestroy(cuContext, cuEvent) error { return ErrNotBuilt }
