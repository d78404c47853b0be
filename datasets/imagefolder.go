package datasets

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ImageExtensions are the file extensions torchvision's ImageFolder accepts
// (IMG_EXTENSIONS), compared case-insensitively. .ppm and .pgm are listed
// for index compatibility although Decode does not read them.
var ImageExtensions = []string{".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}

// Sample is one file of an ImageFolder and its class index.
type Sample struct {
	Path  string
	Label int
}

// ImageFolder is a class-per-subfolder image dataset (root/<class>/.../x.jpg)
// listed exactly like torchvision.datasets.ImageFolder: classes are the
// sorted names of root's subfolders (their index is the label), and each
// class's files are found by walking its folder (following symbolic links)
// in sorted order, keeping files with an ImageExtensions suffix. It is
// read-only after loading and safe for concurrent reads.
type ImageFolder struct {
	Root    string
	Classes []string
	Samples []Sample
}

// maxWalkDepth bounds folder recursion (symbolic-link loops).
const maxWalkDepth = 32

// LoadImageFolder lists root. It fails when root has no subfolders or a
// class folder holds no image file (torchvision raises FileNotFoundError in
// both cases).
func LoadImageFolder(root string) (*ImageFolder, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("datasets: image folder: %w", err)
	}
	var classes []string
	for _, e := range entries {
		if isDir(filepath.Join(root, e.Name()), e) {
			classes = append(classes, e.Name())
		}
	}
	if len(classes) == 0 {
		return nil, fmt.Errorf("datasets: image folder %s: no class subfolders", root)
	}
	sort.Strings(classes)
	ds := &ImageFolder{Root: root, Classes: classes}
	for label, c := range classes {
		var dirs []string
		if err := collectDirs(filepath.Join(root, c), 0, &dirs); err != nil {
			return nil, err
		}
		// Python sorts os.walk's (dirpath, ...) tuples by dirpath.
		sort.Strings(dirs)
		found := 0
		for _, d := range dirs {
			files, err := os.ReadDir(d)
			if err != nil {
				return nil, fmt.Errorf("datasets: image folder: %w", err)
			}
			var names []string
			for _, f := range files {
				if !isDir(filepath.Join(d, f.Name()), f) && hasImageExt(f.Name()) {
					names = append(names, f.Name())
				}
			}
			sort.Strings(names)
			for _, n := range names {
				ds.Samples = append(ds.Samples, Sample{Path: filepath.Join(d, n), Label: label})
			}
			found += len(names)
		}
		if found == 0 {
			return nil, fmt.Errorf("datasets: image folder %s: class %q has no image files (extensions %v)", root, c, ImageExtensions)
		}
	}
	return ds, nil
}

func isDir(path string, e os.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&os.ModeSymlink != 0 {
		st, err := os.Stat(path)
		return err == nil && st.IsDir()
	}
	return false
}

func collectDirs(dir string, depth int, out *[]string) error {
	if depth > maxWalkDepth {
		return fmt.Errorf("datasets: image folder: %s nested deeper than %d (symbolic-link loop?)", dir, maxWalkDepth)
	}
	*out = append(*out, dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("datasets: image folder: %w", err)
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if isDir(p, e) {
			if err := collectDirs(p, depth+1, out); err != nil {
				return err
			}
		}
	}
	return nil
}

func hasImageExt(name string) bool {
	l := strings.ToLower(name)
	for _, e := range ImageExtensions {
		if strings.HasSuffix(l, e) {
			return true
		}
	}
	return false
}
