#!/usr/bin/python3
"""Builds mailmoat's own small ClamAV signature database at build time, with sigtool, from files
this script makes (nothing is downloaded). Run by CMake (target `signatures`):

    make_signatures.py <db_dir> <samples_dir>

<samples_dir> gets the test samples:
  eicar.com             the EICAR anti-virus test file (assembled here, so the repository does not
                        carry the literal string and no scanner flags the source tree)
  mailmoat-marker.txt   a harmless project-made sample whose marker line the database detects,
                        for tests that need a second, non-EICAR detection
  clam.exe              copied from Debian's clamav-testfiles when installed (the harmless 544-byte
                        ClamAV test executable every file in that package contains)
<db_dir> gets mailmoat.hdb (MD5), mailmoat.hsb (SHA-256) and mailmoat.ndb (body signatures),
and the script checks with clamscan that every sample is detected before it finishes.
"""
import os
import shutil
import subprocess
import sys

EICAR = ("X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*").encode()
MARKER = b"MAILMOAT-TEST-MALWARE-" + b"MARKER-5b1e0c7a"  # split: the source is not a sample
CLAM_EXE = "/usr/share/clamav-testfiles/clam.exe"


def sigtool(*args, stdin=None):
    r = subprocess.run(["sigtool", *args], input=stdin, capture_output=True, check=True)
    return r.stdout.decode().strip()


def main():
    db_dir, samples = sys.argv[1], sys.argv[2]
    os.makedirs(db_dir, exist_ok=True)
    os.makedirs(samples, exist_ok=True)
    files = {}
    with open(os.path.join(samples, "eicar.com"), "wb") as f:
        f.write(EICAR)
    files["Eicar"] = os.path.join(samples, "eicar.com")
    with open(os.path.join(samples, "mailmoat-marker.txt"), "wb") as f:
        f.write(b"This harmless file is a mailmoat test sample.\n" + MARKER + b"\n")
    files["Marker"] = os.path.join(samples, "mailmoat-marker.txt")
    have_clam = os.path.exists(CLAM_EXE)
    if have_clam:
        shutil.copyfile(CLAM_EXE, os.path.join(samples, "clam.exe"))
        files["ClamAV-TestFile"] = os.path.join(samples, "clam.exe")

    hdb, hsb = [], []
    for name, path in files.items():
        # sigtool prints "<hash>:<size>:<file name>"; the third field becomes the signature name.
        h, size, _ = sigtool("--md5", path).split(":", 2)
        hdb.append(f"{h}:{size}:Mailmoat.Test.{name}-MD5")
        h, size, _ = sigtool("--sha256", path).split(":", 2)
        hsb.append(f"{h}:{size}:Mailmoat.Test.{name}-SHA256")
    ndb = [f"Mailmoat.Test.Eicar-Body:0:*:{sigtool('--hex-dump', stdin=EICAR)}",
           f"Mailmoat.Test.Marker-Body:0:*:{sigtool('--hex-dump', stdin=MARKER)}"]
    if have_clam:
        with open(CLAM_EXE, "rb") as f:
            body = f.read()[0x40:0x70]  # the test program's code, found in every container of it
        ndb.append(f"Mailmoat.Test.ClamAV-TestFile-Body:0:*:{body.hex()}")
    for fname, lines in (("mailmoat.hdb", hdb), ("mailmoat.hsb", hsb), ("mailmoat.ndb", ndb)):
        tmp = os.path.join(db_dir, fname + ".tmp")
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, os.path.join(db_dir, fname))

    # Every sample must be detected by the database just written.
    r = subprocess.run(["clamscan", "--no-summary", "-d", db_dir, *files.values()],
                       capture_output=True, text=True)
    found = [line for line in r.stdout.splitlines() if line.endswith(" FOUND")]
    if len(found) != len(files):
        sys.exit(f"make_signatures: clamscan found {len(found)} of {len(files)} samples:\n{r.stdout}{r.stderr}")


if __name__ == "__main__":
    main()
