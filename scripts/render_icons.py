#!/usr/bin/env python3
"""Render resources/icon.svg to the PNG sizes Qt and the bundle use, and to icon.ico.

Usage::

    QT_QPA_PLATFORM=offscreen python scripts/render_icons.py

Uses PySide6's QtSvg (part of PySide6-Essentials), so it needs nothing beyond the
app's own dependencies.  The .ico holds the PNG renders as PNG-compressed entries
(supported by Windows Vista and later), written by hand so Pillow is not needed.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
PNG_SIZES = (256, 64, 32, 16)
ICO_SIZES = (256, 64, 32, 16)


def render_png(svg: Path, size: int, out: Path) -> bytes:
    """Render ``svg`` to a ``size`` x ``size`` PNG at ``out``; return the PNG bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    buf.close()
    png = bytes(data.data())
    out.write_bytes(png)
    return png


def write_ico(out: Path, pngs: dict[int, bytes]) -> None:
    """Write an .ico whose entries are the given PNGs (size -> PNG bytes)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    entries = b""
    body = b""
    for size in sizes:
        png = pngs[size]
        dim = 0 if size >= 256 else size  # 0 means 256 in the ICO directory
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(png), offset)
        body += png
        offset += len(png)
    out.write_bytes(header + entries + body)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841
    svg = RESOURCES / "icon.svg"
    pngs: dict[int, bytes] = {}
    for size in PNG_SIZES:
        out = RESOURCES / f"icon-{size}.png"
        pngs[size] = render_png(svg, size, out)
        print(f"wrote {out.relative_to(RESOURCES.parent)} ({len(pngs[size])} bytes)")
    ico = RESOURCES / "icon.ico"
    write_ico(ico, {s: pngs[s] for s in ICO_SIZES})
    print(f"wrote {ico.relative_to(RESOURCES.parent)} ({ico.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
