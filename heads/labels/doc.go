// Package labels holds class-name lists for classifier heads: the 1000
// ImageNet-1k classes in index order, the 10 Fashion-MNIST classes, and a
// reader for user label files.
//
// ImageNet1k is torchvision's _IMAGENET_CATEGORIES list (torchvision/models/
// _meta.py, as shipped in Debian's python3-torchvision 0.14.1), the names
// timm and most model cards print: short, unique names ("crane bird" and
// "crane", "maillot" and "maillot tank suit" are disambiguated). It is
// embedded in the binary from imagenet1k.txt (one name per line). The
// Fashion-MNIST names are from the dataset's README (zalandoresearch
// fashion-mnist, shipped by Debian's dataset-fashion-mnist).
//
// All functions return fresh slices and are safe for concurrent use.
package labels
