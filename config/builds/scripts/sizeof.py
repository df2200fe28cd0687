# The bytes an upload of a directory would send (config/builds/uploads.py): the sizes of the
# regular files below it, symbolic links not followed. Run as `python3 -I -S - <directory>`;
# stdout carries "size <bytes>".
from __future__ import annotations

import os
import stat
import sys

total = 0
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        try:
            found = os.lstat(os.path.join(root, name))
        except OSError:
            continue
        if stat.S_ISREG(found.st_mode):
            total += found.st_size
print(f"size {total}")
