"""Which text encoding a Shapefile's attributes are in, so Chinese names are never mojibake.

GDAL reads a ``.dbf`` without a ``.cpg`` as Latin-1 or UTF-8 and says nothing, although Chinese
desktop GIS writes GBK. The order of evidence: an explicit encoding, the ``.cpg`` file, the DBF
language-driver byte (header offset 29), then a test: text fields that are not valid UTF-8 but
decode as GB18030 (a superset of GBK) are GB18030, with a warning.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path

from siting._record import warn

log = logging.getLogger(__name__)

_CPG_ALIASES = {
    "936": "gbk",
    "gb2312": "gbk",
    "gbk": "gbk",
    "cp936": "gbk",
    "gb18030": "gb18030",
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "65001": "utf-8",
    "950": "big5",
    "big5": "big5",
    "1252": "cp1252",
    "ansi 1252": "cp1252",
    "iso-8859-1": "latin-1",
}
_LDID = {0x4D: "gbk", 0x7A: "gbk", 0x4E: "big5", 0x78: "big5", 0x57: "cp1252", 0x03: "cp1252"}


def _text_samples(dbf: Path, limit: int = 500) -> list[bytes]:
    """Raw bytes of the character fields of the first ``limit`` records."""
    raw = dbf.read_bytes()
    if len(raw) < 32:
        return []
    n_records, header_len, record_len = struct.unpack("<IHH", raw[4:12])
    fields, offset, pos = [], 1, 32  # each record starts with a deletion flag byte
    while pos + 32 <= header_len and raw[pos] != 0x0D:
        ftype, flen = chr(raw[pos + 11]), raw[pos + 16]
        if ftype == "C":
            fields.append((offset, flen))
        offset += flen
        pos += 32
    out = []
    for r in range(min(n_records, limit)):
        start = header_len + r * record_len
        out += [raw[start + o : start + o + n].rstrip(b" \x00") for o, n in fields]
    return [b for b in out if b]


def shapefile_encoding(path: str | Path, explicit: str | None = None) -> str:
    """The encoding to read ``path`` (.shp) with; see the module docstring for the order."""
    if explicit:
        return explicit
    shp = Path(path)
    cpg = shp.with_suffix(".cpg")
    if cpg.exists():
        name = cpg.read_text(encoding="ascii", errors="ignore").strip().lower()
        return _CPG_ALIASES.get(name, name or "utf-8")
    dbf = shp.with_suffix(".dbf")
    if not dbf.exists():
        return "utf-8"
    ldid = dbf.read_bytes()[29:30]
    if ldid and ldid[0] in _LDID:
        log.info("%s: no .cpg; the DBF language driver says %s", shp.name, _LDID[ldid[0]])
        return _LDID[ldid[0]]
    samples = _text_samples(dbf)
    try:
        for s in samples:
            s.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        for s in samples:
            s.decode("gb18030")
    except UnicodeDecodeError:
        return "utf-8"
    message = (
        f"{shp}: no .cpg file and the attributes are not UTF-8; read as GB18030 (GBK), "
        "as Chinese desktop GIS writes. Add a .cpg file containing GBK, or set "
        "`encoding:` in the scenario, to make this explicit"
    )
    zh = (
        f"{shp}：没有 .cpg 文件，且属性不是 UTF-8 编码；已按 GB18030（GBK）读取，这是国内桌面 "
        "GIS 的写法。添加内容为 GBK 的 .cpg 文件，或在情景文件中设置 `encoding:`，即可明确编码"
    )
    warn("shapefile_read_as_gbk", message, zh=zh, stacklevel=3)
    return "gb18030"
