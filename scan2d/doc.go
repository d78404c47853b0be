// Package scan2d turns VMamba's 2-D feature maps into the four 1-D sequences
// its selective scan runs over, and back (MzeroMiko/VMamba CrossScan and
// CrossMerge, ../shared/spec/vmamba.md §3.2).
//
// A channel-first map x (Bt, C, H, W) is read in four orders, L = H·W:
//
//	k = 0  row-major          xs[:,0,:,l] = x[:,:, l/W, l%W]
//	k = 1  column-major       xs[:,1,:,l] = x[:,:, l%H, l/H]
//	k = 2  row-major, reversed    xs[:,2,:,l] = xs[:,0,:,L-1-l]
//	k = 3  column-major, reversed xs[:,3,:,l] = xs[:,1,:,L-1-l]
//
// CrossMerge is the adjoint: it maps each direction's sequence back to
// row-major positions and sums them, in the official order
// (ys0 + flip(ys2)) + transposeBack(ys1 + flip(ys3)), so that
// CrossMerge(CrossScan(x)) = 4·x. Position gives the same maps as indices.
//
// Both are written with Backend layout ops only (Permute, Flip, CopyBox,
// Mean, Scale), so they run unchanged on the CPU and CUDA backends. A
// Workspace keeps the temporaries between calls so that steady-state
// inference allocates nothing; it is not safe for concurrent use (give each
// goroutine its own). The package-level functions use a throwaway Workspace.
package scan2d
