#!/usr/bin/env python3
"""Writes the app icons (PNG, standard library only): a white medical cross on the app's blue.
Run from anywhere: python3 www/make_icons.py. The SVG icon is icon.svg, by hand."""
import os, struct, zlib

BLUE, WHITE = (0x0B, 0x3D, 0x61), (0xFF, 0xFF, 0xFF)

def png(path, size, cross_frac, rounded):
    r = size * 0.18 if rounded else 0  # corner radius; maskable icons are full-bleed squares
    arm, half = size * cross_frac / 2, size * cross_frac * 0.32 / 2
    c = size / 2
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            px, py = x + 0.5, y + 0.5
            dx, dy = max(r - px, px - (size - r), 0), max(r - py, py - (size - r), 0)
            inside = r == 0 or dx * dx + dy * dy <= r * r
            cross = (abs(px - c) <= half and abs(py - c) <= arm) or (abs(py - c) <= half and abs(px - c) <= arm)
            rgb = WHITE if cross else BLUE
            row += bytes(rgb) + bytes([255 if inside else 0])
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "icons")
png(os.path.join(here, "icon-192.png"), 192, 0.56, True)
png(os.path.join(here, "icon-512.png"), 512, 0.56, True)
png(os.path.join(here, "icon-512-maskable.png"), 512, 0.40, False)
