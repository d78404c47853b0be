package main

import (
	"fmt"

	"github.com/gomamba/gomamba/datasets"
	"github.com/gomamba/gomamba/train"
)

// fashionDir maps the --data value to the folder of Fashion-MNIST idx files.
func fashionDir(data string) string {
	if data == "" || data == "fashion-mnist" {
		return datasets.DefaultFashionMNISTDir
	}
	return data
}

// loadFashion reads one split as a datasets.ImageSet with a hint on how to
// get the files when they are missing.
func loadFashion(data, split string) (*datasets.ImageSet, error) {
	s, err := datasets.LoadFashionMNIST(fashionDir(data), split)
	if err != nil {
		return nil, fmt.Errorf("%w (Fashion-MNIST comes with Debian's dataset-fashion-mnist package: apt-get install dataset-fashion-mnist)", err)
	}
	return s, nil
}

func toTrainSet(s *datasets.ImageSet) *train.ImageSet {
	labels := make([]int, len(s.Labels))
	for i, l := range s.Labels {
		labels[i] = int(l)
	}
	return &train.ImageSet{Pixels: s.Pix, Labels: labels, Channels: 1, Size: s.Height, Classes: s.Classes}
}

// loadTrainingData returns the train and test splits for cfg.
func loadTrainingData(data string, cfg train.Config) (*train.ImageSet, *train.ImageSet, error) {
	tr, err := loadFashion(data, "train")
	if err != nil {
		return nil, nil, err
	}
	te, err := loadFashion(data, "test")
	if err != nil {
		return nil, nil, err
	}
	if tr.Height != tr.Width || tr.Height != cfg.ImgSize || cfg.InChans != 1 {
		return nil, nil, fmt.Errorf("train: data is 1×%d×%d, model %s expects %d×%d×%d", tr.Height, tr.Width, cfg.Name, cfg.InChans, cfg.ImgSize, cfg.ImgSize)
	}
	return toTrainSet(tr), toTrainSet(te), nil
}
