package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// littleEndian reports whether the host stores numbers little-endian, as
// both checkpoint formats do.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// Data types, spelled as in the safetensors header. PyTorch storages map onto
// the same names (FloatStorage → F32, HalfStorage → F16, ...).
const (
	dtBool = "BOOL"
	dtU8   = "U8"
	dtI8   = "I8"
	dtI16  = "I16"
	dtU16  = "U16"
	dtF16  = "F16"
	dtBF16 = "BF16"
	dtI32  = "I32"
	dtU32  = "U32"
	dtF32  = "F32"
	dtF64  = "F64"
	dtI64  = "I64"
	dtU64  = "U64"
)

// dtypeSize returns the byte size of one element, or 0 for an unknown dtype.
func dtypeSize(dt string) int {
	switch dt {
	case dtBool, dtU8, dtI8:
		return 1
	case dtI16, dtU16, dtF16, dtBF16:
		return 2
	case dtI32, dtU32, dtF32:
		return 4
	case dtF64, dtI64, dtU64:
		return 8
	}
	return 0
}

func isFloat(dt string) bool {
	switch dt {
	case dtF16, dtBF16, dtF32, dtF64:
		return true
	}
	return false
}

// toFloat32 decodes n little-endian elements of type dt from src into dst.
// src holds exactly len(dst) elements (the caller checked).
func toFloat32(dst []float32, src []byte, dt string) error {
	le := binary.LittleEndian
	switch dt {
	case dtF32:
		if littleEndian && len(dst) > 0 {
			// The stored bytes are the host's float32 layout: one memmove
			// (no alignment needed; dst is viewed as bytes).
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 4*len(dst)), src)
			return nil
		}
		for i := range dst {
			dst[i] = math.Float32frombits(le.Uint32(src[4*i:]))
		}
	case dtF16:
		for i := range dst {
			dst[i] = halfToFloat32(le.Uint16(src[2*i:]))
		}
	case dtBF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(le.Uint16(src[2*i:])) << 16)
		}
	case dtF64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(le.Uint64(src[8*i:])))
		}
	default:
		return fmt.Errorf("dtype %s is not a float type (use Int64 for integer tensors)", dt)
	}
	return nil
}

// toInt64 decodes integer elements of type dt from src into dst.
func toInt64(dst []int64, src []byte, dt string) error {
	le := binary.LittleEndian
	switch dt {
	case dtI64:
		for i := range dst {
			dst[i] = int64(le.Uint64(src[8*i:]))
		}
	case dtU64:
		for i := range dst {
			v := le.Uint64(src[8*i:])
			if v > math.MaxInt64 {
				return fmt.Errorf("U64 value %d at index %d overflows int64", v, i)
			}
			dst[i] = int64(v)
		}
	case dtI32:
		for i := range dst {
			dst[i] = int64(int32(le.Uint32(src[4*i:])))
		}
	case dtU32:
		for i := range dst {
			dst[i] = int64(le.Uint32(src[4*i:]))
		}
	case dtI16:
		for i := range dst {
			dst[i] = int64(int16(le.Uint16(src[2*i:])))
		}
	case dtU16:
		for i := range dst {
			dst[i] = int64(le.Uint16(src[2*i:]))
		}
	case dtI8:
		for i := range dst {
			dst[i] = int64(int8(src[i]))
		}
	case dtU8, dtBool:
		for i := range dst {
			dst[i] = int64(src[i])
		}
	default:
		return fmt.Errorf("dtype %s is not an integer type (use Tensor for float tensors)", dt)
	}
	return nil
}

// halfToFloat32 converts an IEEE 754 binary16 value to float32 exactly
// (subnormals, infinities and NaN payloads included).
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: value = mant · 2^-24, exact in float32.
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}
