// Package datasets turns image files into the exact float32 tensors the
// official PyTorch pipelines (timm, Vim, VMamba, DeiT) feed their models, and
// reads training data sets.
//
// # Decoding
//
// Decode and DecodeFile read JPEG, PNG, GIF (first frame), BMP, TIFF and
// WebP, sniffed by magic bytes, and return 8-bit RGB (*RGB) converted by the
// rules of Pillow's Image.open(f).convert("RGB"): alpha dropped without
// compositing, gray replicated, 16-bit colour reduced to its high byte,
// 16-bit gray saturated at 255 (Pillow's I;16 rule), palettes looked up,
// CMYK by Pillow's cmyk2rgb. Dimensions from the header are checked against
// Options.MaxPixels (default 16384×16384) before any pixel is allocated;
// corrupt or truncated files give errors that name the file, and a codec
// panic is recovered into an error.
//
// Measured against Pillow 9.4 (Debian; libjpeg-turbo 2.1, libwebp 1.2) on
// the fixtures in testdata (see testdata/gen.py):
//
//   - PNG (1-bit, 8/16-bit RGB, RGBA, LA, palette+tRNS, 16-bit gray), GIF
//     (including the stored colour of a transparent index, which Go's
//     image/gif blanks and Decode restores, and a first frame smaller than
//     the screen), BMP (RGB, RGBA, gray, palette), TIFF (RGB, RGBA, gray,
//     palette; raw, LZW, deflate), WebP lossless and WebP lossy (RGB, RGBA,
//     gray): bit-identical. Lossy WebP is
//     exact because Go's VP8 decoder yields the same Y'CbCr planes as libwebp
//     and this package reimplements libwebp's "fancy" chroma upsampler and
//     its BT.601 fixed-point colour matrix. Go's image.YCbCr.At (nearest
//     chroma, full-range JFIF matrix) is off by up to 57 levels, mean 6.7,
//     on the lossy fixtures.
//   - JPEG (baseline and progressive Huffman, gray, Y'CbCr and CMYK; 4:4:4,
//     4:2:2, 4:2:0, 4:4:0, 4:1:1; restart markers; 16-bit quantisation
//     tables): bit-identical, with this package's own decoder (jpegdec.go):
//     libjpeg's accurate integer IDCT (ISLOW) and range-limit table,
//     libjpeg's triangular "fancy" chroma upsampling and its YCbCr→RGB
//     tables; CMYK through Pillow's "CMYK;I" inversion and cmyk2rgb (YCCK
//     follows libjpeg's conversion but has no fixture). Beyond the fixtures,
//     all 18 JPEG photos of Debian's mate-backgrounds and nodejs docs
//     (baseline and progressive, 4:4:4/4:2:2/4:2:0, up to 5640×3172) decode
//     to exactly Pillow's pixels, and for LadyBird, TwoWings and YellowFlower
//     the ImageNet eval tensor equals, bit for bit, the one computed from
//     Pillow's decode and resize with float32 /255 and normalisation. Go's
//     image/jpeg, by comparison, differs by up to 3 levels even with our
//     upsampling (its IDCT rounds differently) and by up to 35–55 levels
//     through image.YCbCr.At (nearest chroma); it cannot read some valid
//     progressive files with restart markers at all. Files this decoder does
//     not cover — subsampled CMYK, Adobe-RGB JPEGs, arithmetic coding,
//     12-bit, lossless — and damaged files it rejects fall back to
//     image/jpeg.
//   - CMYK TIFF and int32 ("I") TIFF are not supported by
//     golang.org/x/image/tiff (clear errors).
//
// EXIF orientation (JPEG APP1, TIFF IFD0, PNG eXIf, WebP EXIF) is applied by
// default with Pillow's ImageOps.exif_transpose mapping, so photos come out
// upright. Pillow's Image.open does NOT apply it, so timm/torchvision see the
// stored pixel order: set Options.IgnoreOrientation for bit-parity with them
// on rotated camera JPEGs. The EXIF reader is a small bounds-checked parser
// of the one tag needed (see exif.go for why not a library).
//
// # Resampling and the eval transform
//
// ResizeRGB and ResizeGray are Pillow's antialiased Image.resize for 8-bit
// images, written from python-pillow src/libImaging/Resample.c's algorithm:
// float64 per-output coefficients with the support widened by the
// downscale factor, 22-bit fixed point rounded half away from zero, the
// horizontal pass first over only the rows the vertical pass needs,
// quantised to uint8 in between, an unchanged axis skipped. Bicubic
// (a = −0.5), Bilinear, Box, Hamming and Lanczos are byte-identical with
// Pillow on every fixture (shared/golden/preprocess and testdata).
//
// EvalTransform is timm's transforms_imagenet_eval: Resize(int(Size/CropPct))
// with torchvision's truncated long side, CenterCrop with banker's-rounded
// offsets (zero padding when the image is smaller), ToTensor (/255) and
// Normalize in float32, giving a (3, Size, Size) kernels.Tensor that is
// bit-identical to torchvision's on the golden cases. ImageNetEval is the
// Vim/VMamba/DeiT preset (224, crop_pct 0.875, bicubic); TimmDeiTEval uses
// timm's 0.9. NativeTransform skips the crop for any-resolution inference
// (exact size, native size, or rounded to a patch multiple). Grayscale
// variants produce one channel from Pillow's convert("L") luma. ApplyInto
// fills one item of a batch tensor in place, and LoadBatch decodes and
// transforms a list of files in parallel (context-aware) into a
// (B, C, Size, Size) tensor.
//
// Speed (one goroutine, best of several runs on the shared, loaded 2-core
// VM, Pillow 9.4 measured the same way beside it): 4000×3000 → 341×256 in
// ≈ 85 ms CPU vs Pillow's 79 ms; 500×375 → 341×256 in 3.4 ms vs 3.5 ms. The
// loops are plain Go: each multiply-add advances two channels packed into
// one int64 (exact, see resample.go); with GOMAXPROCS > 1 rows run in
// parallel. BenchmarkResizeBicubic prints Pillow's figure beside ours when
// python3-pil is installed.
//
// # Data sets
//
// LoadFashionMNIST reads the IDX files of Debian's dataset-fashion-mnist
// (/usr/share/datasets/fashion-mnist) into an ImageSet; ReadIDX validates
// headers against the payload before allocating. LoadImageFolder lists a
// class-per-folder tree in torchvision ImageFolder order. Batches yields
// seeded shuffled mini-batches; RandomCropPad and RandomHFlip are
// torchvision's RandomCrop(padding) and RandomHorizontalFlip on uint8
// images.
//
// Concurrency: functions are safe for concurrent use; *RGB, ImageSet and
// ImageFolder values are safe for concurrent reads; a Batches is not.
package datasets
