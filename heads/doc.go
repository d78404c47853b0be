// Package heads holds what sits on top of a backbone: token pooling
// ([Pool]: a chosen token such as Vim's middle cls token, the mean, the last
// token), the linear classifier ([Linear]) and host-side post-processing
// (softmax top-k with label names, [TopK]).
//
// Label tables live in the sub-package heads/labels.
//
// Linear and Pooling values are read-only after construction and safe for
// concurrent use; the functions are pure.
package heads
