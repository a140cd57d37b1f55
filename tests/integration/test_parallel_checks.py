"""Parallel checks ([scan] parallel_checks): `mailmoat scan` gives, file for file, the same verdict
(class, score, symbols in order with their details, complete/failed) with the antivirus running on
the engine's threads beside the other checks as with every check one after another, over a mixed
set of messages (plain, HTML, bulk, spam wording, phishing, malware in a zip, office-like zips,
broken MIME), with the managed clamd and a trained classifier."""
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import unittest
import zipfile
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

BUILD = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(harness.BIN))))
SAMPLES = os.path.join(BUILD, "signature-samples")
SPAM_WORDS = ("viagra pharmacy discount pills cheap meds winner lottery prize claim unclaimed funds "
              "wire transfer million dollars urgent beneficiary casino bonus").split()
HAM_WORDS = ("meeting agenda project review quarterly report attached draft budget schedule team "
             "lunch thursday minutes deadline design document feedback release notes").split()


def text_message(i, words, sender, extra=""):
    rnd = random.Random(i)
    body = " ".join(rnd.choice(words) for _ in range(50))
    subject = " ".join(rnd.choice(words) for _ in range(4))
    return (f"From: {sender}\r\nTo: bob@acme.example\r\nSubject: {subject}\r\nMessage-ID: <p{i}@x.example>\r\n"
            f"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n{extra}\r\n{body}\r\n").encode()


def with_attachment(i, data, name, subtype="zip"):
    m = EmailMessage()
    m["From"] = f"sender{i}@partner.example"
    m["To"] = "bob@acme.example"
    m["Subject"] = f"Document {i}"
    m.set_content("Please find the file attached.\n")
    m.add_attachment(data, maintype="application", subtype=subtype, filename=name)
    return m.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def zipped(files):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


def corpus(d):
    msgs = {}
    for i in range(6):
        msgs[f"ham{i}"] = text_message(i, HAM_WORDS, f"colleague{i}@partner.example")
        msgs[f"spam{i}"] = text_message(100 + i, SPAM_WORDS, f"promo{i}@deals.example")
    msgs["bulk"] = text_message(200, HAM_WORDS, "news@esp.example",
                                "List-Unsubscribe: <https://esp.example/u>\r\nPrecedence: bulk\r\n")
    msgs["phish"] = (b'From: "PayPal Security" <alert@paypa1.com>\r\nTo: bob@acme.example\r\n'
                     b"Subject: Account suspended\r\nContent-Type: text/html\r\n\r\n"
                     b"<p>Your account is suspended. Verify your account now: "
                     b'<a href="https://www.paypal.com@203.0.113.5/signin">https://www.paypal.com/signin</a></p>\r\n')
    with open(os.path.join(SAMPLES, "eicar.com"), "rb") as f:
        eicar = f.read()
    msgs["malware"] = with_attachment(300, zipped({"invoice.com": eicar}), "invoice.zip")
    msgs["notes"] = with_attachment(301, zipped({f"n{k}.txt": " ".join(HAM_WORDS) * 50 for k in range(5)}), "notes.zip")
    msgs["exe"] = with_attachment(302, b"MZ" + bytes(range(256)) * 40, "setup.exe", "octet-stream")
    msgs["broken"] = (b"From: x@y.example\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n"
                      b"Content-Transfer-Encoding: base64\r\n\r\n!!!notbase64\r\n--zz")
    msgs["empty"] = b"\r\n"
    for name, raw in msgs.items():
        with open(os.path.join(d, f"{name}.eml"), "wb") as f:
            f.write(raw)
    return sorted(msgs)


class ParallelChecksTest(unittest.TestCase):
    def test_same_verdicts_parallel_and_serial(self):
        gw = harness.Gateway()
        try:
            train = tempfile.mkdtemp(dir=gw.tmp)
            for kind, words in (("spam", SPAM_WORDS), ("ham", HAM_WORDS)):
                os.makedirs(os.path.join(train, kind))
                for i in range(60):
                    with open(os.path.join(train, kind, f"{i}.eml"), "wb") as f:
                        f.write(text_message(1000 + i + (0 if kind == "ham" else 500), words,
                                             f"{kind}{i}@s{i % 5}.example"))
            gw.cli("train", "--spam", os.path.join(train, "spam"), "--ham", os.path.join(train, "ham"))
            d = tempfile.mkdtemp(dir=gw.tmp)
            names = corpus(d)
            serial_cfg = os.path.join(gw.tmp, "serial.toml")
            with open(gw.config_path) as f:
                text = f.read()
            self.assertIn("[scan]", text)
            with open(serial_cfg, "w") as f:
                f.write(text.replace("[scan]", "[scan]\nparallel_checks = false", 1))

            def verdicts(config):
                r = subprocess.run([harness.BIN, "-c", config, "scan", "--json", d],
                                           capture_output=True, text=True, timeout=120)
                self.assertEqual(r.returncode, 0, r.stderr)
                out = {}
                for line in r.stdout.splitlines():
                    if line.startswith("{"):
                        v = json.loads(line)
                        del v["elapsed_us"]
                        out[os.path.basename(v.pop("file"))[:-4]] = v
                return out

            parallel = verdicts(gw.config_path)
            serial = verdicts(serial_cfg)
            self.assertEqual(sorted(parallel), names)
            for name in names:
                self.assertEqual(parallel[name], serial[name], name)
            # The set covers what it should, the antivirus included.
            self.assertEqual(parallel["malware"]["class"], "malware", parallel["malware"])
            self.assertIn("AV_VIRUS", [s["name"] for s in parallel["malware"]["symbols"]])
            self.assertEqual(parallel["phish"]["class"], "phishing", parallel["phish"])
            classes = {v["class"] for v in parallel.values()}
            self.assertTrue({"clean", "spam", "malware", "phishing"} <= classes, classes)
            self.assertTrue(any(s["name"].startswith("BAYES_") for v in parallel.values() for s in v["symbols"]))
        finally:
            gw.cleanup()


if __name__ == "__main__":
    unittest.main()
