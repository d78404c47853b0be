#!/usr/bin/python3
"""Regenerates the decoder fixtures in this folder with Debian's Pillow.

Run: apt-get install python3-pil mate-backgrounds (or dpkg -x its .deb),
then  /usr/bin/python3 gen.py /usr/share/backgrounds/mate/nature/LadyBird.jpg
Every input X gets X.pillow.png: Image.open(X).convert("RGB") (and, for the
EXIF case, ImageOps.exif_transpose first), the reference the Go decoder is
tested against. The photo is from mate-backgrounds (GPL-2+, Charles Barbin).
"""
import io, struct, sys
from PIL import Image, ImageOps

src = Image.open(sys.argv[1]).convert("RGB")
photo = src.resize((160, 100), Image.LANCZOS)  # small, real content
odd = photo.crop((3, 5, 3 + 61, 5 + 37))       # odd sizes exercise chroma edges


def ref(name, transpose=False):
    im = Image.open(name)
    if transpose:
        im = ImageOps.exif_transpose(im)
    im.convert("RGB").save(name + ".pillow.png")


# JPEG, all the chroma layouts libjpeg upsamples differently.
for sub, tag in ((0, "444"), (1, "422"), (2, "420")):
    photo.save(f"photo_{tag}.jpg", quality=90, subsampling=sub)
    ref(f"photo_{tag}.jpg")
    odd.save(f"odd_{tag}.jpg", quality=90, subsampling=sub)
    ref(f"odd_{tag}.jpg")
photo.save("photo_progressive.jpg", quality=85, progressive=True)
ref("photo_progressive.jpg")
photo.convert("L").save("gray.jpg", quality=90)
ref("gray.jpg")
photo.convert("CMYK").save("cmyk.jpg", quality=95)
ref("cmyk.jpg")

# EXIF orientation 6 (rotate 90° clockwise to display).
exif = Image.Exif()
exif[0x0112] = 6
odd.save("exif6.jpg", quality=90, exif=exif.tobytes())
ref("exif6.jpg", transpose=True)

# WebP lossy (4:2:0, libwebp fancy upsampling) and lossless.
photo.save("photo.webp", quality=80)
ref("photo.webp")
odd.save("odd.webp", quality=80)
ref("odd.webp")
odd.save("lossless.webp", lossless=True)
ref("lossless.webp")

# PNG modes.
odd.save("rgb8.png")
ref("rgb8.png")
rgba = odd.convert("RGBA")
rgba.putalpha(Image.linear_gradient("L").resize(odd.size))
rgba.save("rgba8.png")
ref("rgba8.png")
odd.convert("LA").save("la8.png")
ref("la8.png")
odd.convert("P", palette=Image.ADAPTIVE, colors=37).save("palette.png", transparency=3)
ref("palette.png")
# 16-bit grayscale: values spread over 0..1023 so both the <=255 and the
# saturating branch of Pillow's I;16 -> RGB occur.
g = odd.convert("L")
g16 = Image.new("I", odd.size)
g16.putdata([v * 4 for v in g.getdata()])
g16.save("gray16.png")
ref("gray16.png")
# 16-bit RGB written by hand (Pillow cannot save it): high byte = pixel,
# low byte = a pattern that must be ignored.
import zlib
w, h = odd.size
raw = b""
for y in range(h):
    raw += b"\x00"
    for x in range(w):
        for c in odd.getpixel((x, y)):
            raw += bytes([c, (x * 7 + y * 13) & 0xFF])
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open("rgb16.png", "wb").write(png)
ref("rgb16.png")

# Other containers.
odd.save("rgb.bmp")
ref("rgb.bmp")
odd.convert("P", palette=Image.ADAPTIVE, colors=64).save("palette.gif")
ref("palette.gif")
# Transparent index: Pillow's convert("RGB") shows the stored colour.
odd.convert("P", palette=Image.ADAPTIVE, colors=64).save("transparent.gif", transparency=5)
ref("transparent.gif")
# A first frame smaller than the logical screen, at an offset (Pillow pads it
# with the transparent index, else index 0): Pillow writes full-screen frames,
# so patch the screen size and the frame position of an 8×5 GIF.
for name, trans in (("offset.gif", None), ("offset_transparent.gif", 2)):
    kw = {} if trans is None else {"transparency": trans}
    small = odd.crop((0, 0, 8, 5)).convert("P", palette=Image.ADAPTIVE, colors=16)
    buf = io.BytesIO()
    small.save(buf, "GIF", **kw)
    b = bytearray(buf.getvalue())
    b[6:10] = struct.pack("<HH", 20, 10)
    i = b.index(b"\x2c")  # first image descriptor
    assert struct.unpack("<HHHH", b[i + 1:i + 9])[2:] == (8, 5)
    b[i + 1:i + 5] = struct.pack("<HH", 3, 2)
    open(name, "wb").write(b)
    ref(name)
odd.save("rgb.tiff")
ref("rgb.tiff")
odd.convert("CMYK").save("cmyk.tiff")
ref("cmyk.tiff")

# 4:4:0 (h1v2) is not offered by Pillow's encoder: use libjpeg-turbo's cjpeg
# (Debian libjpeg-turbo-progs) on the 4:4:4 reference pixels.
import subprocess
buf = io.BytesIO()
Image.open("odd_444.jpg.pillow.png").save(buf, "PPM")
open("odd_440.jpg", "wb").write(subprocess.run(
    ["cjpeg", "-sample", "1x2", "-quality", "90"], input=buf.getvalue(),
    capture_output=True, check=True).stdout)
ref("odd_440.jpg")

# Resampling references: every Pillow filter, down- and up-scaling on each
# axis, on the RGB and the L version of the lossless 61×37 crop.
filters = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "box": Image.BOX,
           "hamming": Image.HAMMING, "lanczos": Image.LANCZOS}
src_rgb = Image.open("rgb8.png").convert("RGB")
for fname, f in filters.items():
    for (w, h) in ((29, 53), (7, 5), (61, 20)):
        src_rgb.resize((w, h), f).save(f"resize_{fname}_{w}x{h}.png")
        src_rgb.convert("L").resize((w, h), f).save(f"resize_{fname}_{w}x{h}_L.png")

# More container/mode combinations (all bit-exact except gray16.tiff: Pillow
# saves an "I" (int32) TIFF, a sample format golang.org/x/image/tiff lacks).
rgba = Image.open("rgba8.png")
rgba.save("rgba.bmp"); ref("rgba.bmp")
odd.convert("L").save("gray.bmp"); ref("gray.bmp")
odd.convert("P", palette=Image.ADAPTIVE, colors=16).save("palette.bmp"); ref("palette.bmp")
odd.convert("1").save("bilevel.png"); ref("bilevel.png")
odd.convert("L").save("gray.tiff"); ref("gray.tiff")
odd.save("lzw.tiff", compression="tiff_lzw"); ref("lzw.tiff")
odd.save("deflate.tiff", compression="tiff_adobe_deflate"); ref("deflate.tiff")
rgba.save("rgba.tiff"); ref("rgba.tiff")
odd.convert("P", palette=Image.ADAPTIVE, colors=16).save("palette.tiff"); ref("palette.tiff")
Image.open("gray16.png").save("gray16.tiff")
odd.convert("LA").save("la.webp", lossless=True); ref("la.webp")
rgba.save("rgba.webp", quality=80); ref("rgba.webp")
odd.convert("L").save("gray.webp", quality=80); ref("gray.webp")

# libjpeg-turbo's cjpeg for encoder features Pillow does not expose:
# restart markers, 4:1:1, 16-bit quantisation tables, progressive gray.
buf = io.BytesIO()
odd.save(buf, "PPM")
for name, args in (("restart_rows.jpg", ["-restart", "1"]),
                   ("restart_mcus.jpg", ["-restart", "3B", "-progressive"]),
                   ("s411.jpg", ["-sample", "4x1"]),
                   ("q16.jpg", ["-quality", "3"]),
                   ("optimize_prog.jpg", ["-optimize", "-progressive", "-sample", "2x2"]),
                   ("gray_prog.jpg", ["-grayscale", "-progressive"])):
    open(name, "wb").write(subprocess.run(["cjpeg"] + args, input=buf.getvalue(),
                                          capture_output=True, check=True).stdout)
    ref(name)
