//go:build !amd64 || noasm

package asm

func gateSumVec(dst, a, b, z []float32) { GateSumGo(dst, a, b, z) }
