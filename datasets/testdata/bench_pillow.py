#!/usr/bin/python3
"""Anchor for BenchmarkResizeBicubic: Pillow's Image.resize(BICUBIC) on the
same shapes and pixels, best-of-N wall time in ns/op on one line per shape:
"<w>x<h>_to_<s> <ns>". Run by the Go benchmark when Debian's python3-pil is
installed; prints nothing useful otherwise."""
import sys, time
from PIL import Image

for arg in sys.argv[1:]:
    w, h, s = (int(v) for v in arg.split(","))
    buf = bytes((i * 7 // 3) & 0xFF for i in range(w * h * 3))
    im = Image.frombytes("RGB", (w, h), buf)
    if w <= h:
        nw, nh = s, int(s * h / w)
    else:
        nw, nh = int(s * w / h), s
    best = float("inf")
    reps = max(3, int(2e8 // (w * h * 3)))
    for _ in range(reps):
        t = time.perf_counter()
        im.resize((nw, nh), Image.BICUBIC)
        best = min(best, time.perf_counter() - t)
    print(f"{w}x{h}_to_{s} {best * 1e9:.0f}", flush=True)
