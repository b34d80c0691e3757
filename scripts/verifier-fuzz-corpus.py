#!/usr/bin/env python3
"""Rebuilds fuzz/corpus/fuzz_verifier: one seed per case of tests/verifier/cases/*.cases and per program of
the example objects, each as fuzz_verifier reads its input (8 bytes of frame seed, then raw instructions).

usage: scripts/verifier-fuzz-corpus.py BUILD_DIR     (needs BUILD_DIR/tcbpf and BUILD_DIR/examples/*.o)
"""
import hashlib, os, re, subprocess, sys, tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = sys.argv[1] if len(sys.argv) > 1 else "build"
tcbpf = os.path.join(build, "tcbpf")
out_dir = os.path.join(root, "fuzz", "corpus", "fuzz_verifier")
os.makedirs(out_dir, exist_ok=True)

def programs():
    cases_dir = os.path.join(root, "tests", "verifier", "cases")
    for name in sorted(os.listdir(cases_dir)):
        if not name.endswith(".cases"):
            continue
        text, case = [], None
        for line in open(os.path.join(cases_dir, name)):
            if line.startswith("case:"):
                if case and text:
                    yield case, "".join(text)
                case, text = line[5:].strip(), []
            elif line[:1] in (" ", "\t") and line.strip():
                text.append(line.strip() + "\n")
        if case and text:
            yield case, "".join(text)
    examples = os.path.join(build, "examples")
    for obj in sorted(os.listdir(examples)):
        if not obj.endswith(".o"):
            continue
        path = os.path.join(examples, obj)
        shown = subprocess.run([tcbpf, "prog", "show", path], capture_output=True, text=True).stdout
        for prog in re.findall(r"^prog (\S+) section", shown, re.M):
            dump = subprocess.run([tcbpf, "prog", "dump", path, "sec", prog], capture_output=True, text=True)
            if dump.returncode == 0:
                yield f"{obj}:{prog}", "\n".join(l for l in dump.stdout.splitlines()[1:] if not l.startswith(";"))

count = 0
for name, text in programs():
    with tempfile.TemporaryDirectory() as tmp:
        src, raw = os.path.join(tmp, "p.s"), os.path.join(tmp, "p.bin")
        open(src, "w").write(text)
        if subprocess.run([tcbpf, "asm", src, "-o", raw], capture_output=True).returncode != 0:
            continue
        data = hashlib.sha1(name.encode()).digest()[:8] + open(raw, "rb").read()
    open(os.path.join(out_dir, hashlib.sha1(data).hexdigest()[:16]), "wb").write(data)
    count += 1
print(f"{count} seeds in {out_dir}")
