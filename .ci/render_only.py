#!/usr/bin/env python3
"""Helpers of .ci/render-only-check (standard library only).

  render_only.py same TRAINED RENDERED   every notebook of RENDERED (a lab run --render-only) shows what it showed in
                                         TRAINED (the run that trained), cell by cell, but for the sweeps' own lines
  render_only.py partial SOURCE COPY KEEP SEED
                                         COPY = SOURCE with each run kept with probability KEEP (the rest deleted)
"""
import glob, json, os, random, re, shutil, sqlite3, sys

SWEEP_LINE = re.compile(r"^\[[\w.-]+\] ")   # "[02-learning-rates] shard 0/1: ...", "[...] render-only: ..."
# What depends on the cache, not on the runs: a base "pretrained now in 96 s (log: ...)" or "loaded from the cache".
BASE_FROM = re.compile(r"pretrained now in [^()]*\(log: [^)]*\)|loaded from the cache")


def shown(notebook):
    """Per code cell: its outputs (standard output, plain text, HTML other than charts, errors), without the sweeps' own
    lines and without standard error, where building caches (tokenizer, token shards, a base model) logs."""
    cells = []
    for cell in json.load(open(notebook, encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        parts = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                parts.append("ERROR " + output.get("ename", "") + ": " + output.get("evalue", ""))
            if "text" in output and output.get("name") != "stderr":
                parts.append("".join(output["text"]))
            data = output.get("data", {})
            if "text/plain" in data:
                parts.append("".join(data["text/plain"]))
            if "text/html" in data and "plotly" not in "".join(data["text/html"]):
                parts.append("".join(data["text/html"]))
        lines = "\n".join(parts).splitlines()
        cells.append([BASE_FROM.sub("<pretrained or cached>", line) for line in lines if not SWEEP_LINE.match(line.lstrip(" |"))])
    return cells


def same(trained_folder, rendered_folder):
    rendered = sorted(glob.glob(os.path.join(rendered_folder, "*.ipynb")))
    if not rendered:
        sys.exit(f"no executed notebooks in {rendered_folder}")
    differences = 0
    for path in rendered:
        name = os.path.basename(path)
        a, b = shown(os.path.join(trained_folder, name)), shown(path)
        for index, (x, y) in enumerate(zip(a, b)):
            if x != y:
                differences += 1
                first = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
                print(f"{name}, code cell {index}: trained shows {x[first:first + 1]}, render-only shows {y[first:first + 1]}")
        if len(a) != len(b):
            differences += 1
            print(f"{name}: {len(a)} code cells trained, {len(b)} rendered")
    print(f"{len(rendered)} notebooks rendered from the store: {'the same outputs' if differences == 0 else f'{differences} differences'}")
    return 0 if differences == 0 else 1


def partial(source, copy, keep, seed):
    shutil.copy(source, copy)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(source + suffix):
            shutil.copy(source + suffix, copy + suffix)
    db = sqlite3.connect(copy)
    rng = random.Random(int(seed))
    ids = [row[0] for row in db.execute("SELECT id FROM runs ORDER BY id")]
    dropped = [(i,) for i in ids if rng.random() >= float(keep)]
    db.executemany("DELETE FROM metrics WHERE run_id = ?", dropped)
    db.executemany("DELETE FROM runs WHERE id = ?", dropped)
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    print(f"{copy}: {len(ids) - len(dropped)} of {len(ids)} runs of {source} kept")
    return 0


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    sys.exit(same(*arguments) if command == "same" else partial(*arguments) if command == "partial" else f"unknown command {command}")
