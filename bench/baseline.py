#!/usr/bin/env python3
"""The script a user would write instead of tgclean: line-level normalise + SHA-256 + dedup.

    python3 bench/baseline.py dump.txt > clean.jsonl

Each non-blank line: NFC, whitespace collapsed; key = NFKC + casefold, letters and digits
only; SHA-256 of the key, first 16 bytes; a line whose key was seen is dropped; the rest
is written as JSON Lines. No posts, no grammar: it does less than tgclean.
"""
import hashlib
import json
import sys
import unicodedata


def main() -> None:
    seen = set()
    out = sys.stdout
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        for line in f:
            text = " ".join(unicodedata.normalize("NFC", line).split())
            if not text:
                continue
            key = "".join(c for c in unicodedata.normalize("NFKC", text).casefold() if c.isalnum())
            if not key:
                continue
            digest = hashlib.sha256(key.encode("utf-8")).digest()[:16]
            if digest in seen:
                continue
            seen.add(digest)
            out.write(json.dumps({"text": text, "key": digest.hex()}, ensure_ascii=False))
            out.write("\n")


if __name__ == "__main__":
    main()
