//go:build !cgo || !linux

package cuda

import "unsafe"

type (
	cuGraph     = unsafe.Pointer
	cuGraphExec = unsafe.Pointer
)

func drvGraphOpen() error                                         { return ErrNotBuilt }
func drvBeginCapture(cuContext, cuStream) error                   { return ErrNotBuilt }
func drvEndCapture(cuContext, cuStream) (cuGraph, error)          { return nil, ErrNotBuilt }
func drvGraphInstantiate(cuContext, cuGraph) (cuGraphExec, error) { return nil, ErrNotBuilt }
func drvGraphLaunch(cuContext, cuGraphExec, cuStream) error       { return ErrNotBuilt }
func drvGraphExecDestroy(cuContext, cuGraphExec) error            { return ErrNotBuilt }
func drvGraphDestroy(cuContext, cuGraph) error                    { return ErrNotBuilt }
