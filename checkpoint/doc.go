// Package checkpoint reads model weights: safetensors files, PyTorch
// torch.save zip archives (.pth, .bin) and Hugging Face model folders, and
// binds them strictly to a model's tensors.
//
// Open sniffs the format from the first bytes, never the extension, and
// memory-maps the file; Names and Info read only the header, Tensor converts
// one tensor (F32, F16, BF16, F64) to a float32 kernels.Tensor, Int64 reads
// integer tensors such as token ids. OpenDir merges the shards of a folder.
//
// Bind loads a list of named bindings and reports every missing, unexpected
// and wrongly shaped tensor together in one *BindError; there is no
// non-strict mode, only explicit Ignore patterns, a Prefix to strip and a
// Rename hook for official names.
//
// # Untrusted input
//
// Every header is validated before it is trusted: safetensors offsets must
// tile the data area exactly, shapes must match byte lengths, and sizes are
// bounded by the file. PyTorch pickles are never executed: data.pkl runs
// through an allow-listed unpickler (the torch tensor/parameter rebuild
// functions, the typed storage classes, OrderedDict and plain Python
// values). Globals that only an attack would use (os.system, builtins.eval,
// subprocess, ...) fail the load; any other unknown class, such as the
// argparse.Namespace in a checkpoint's "args" entry, becomes an inert
// placeholder so that the "model" entry still loads. Corrupt or hostile
// files give errors naming the file, never panics, and memory use is
// bounded by the file size.
//
// # Concurrency
//
// A File or Set may be read by several goroutines at once; Close must not
// run concurrently with other methods, and tensors already returned stay
// valid after Close (they are copies).
package checkpoint
