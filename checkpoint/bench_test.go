package checkpoint

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/gomamba/gomamba/internal/golden"
)

// BenchmarkTensor measures conversion from the mapping to float32 per
// stored dtype (bytes/s of float32 output).
func BenchmarkTensor(b *testing.B) {
	const n = 1 << 20
	le := binary.LittleEndian
	f16 := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		le.PutUint16(f16[2*i:], uint16(0x3c00+i%1000))
	}
	p := writeTemp(b, "bench.safetensors", safetensorsFile(b,
		stTensor{"f32", "F32", []int{n}, make([]byte, 4*n)},
		stTensor{"f16", "F16", []int{n}, f16},
		stTensor{"bf16", "BF16", []int{n}, f16},
	))
	f, err := Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for _, name := range []string{"f32", "f16", "bf16"} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(4 * n)
			for b.Loop() {
				if _, err := f.Tensor(name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenVMambaPth opens the VMamba fixture checkpoint (zip + pickle
// + 114 tensors) and reads every tensor.
func BenchmarkOpenVMambaPth(b *testing.B) {
	p := filepath.Join(golden.Dir(b, "vmamba"), "vmamba_model.pth")
	for b.Loop() {
		f, err := Open(p)
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range f.Names() {
			if _, err := f.Tensor(n); err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
	}
}
