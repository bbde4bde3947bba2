"""Train a byte-level language model on the Python standard library, with all five Ember packages.

    python examples/train_lm.py                      # about 5 minutes on a 2-core CPU
    python examples/train_lm.py --devices 4 --steps 200 --out runs/small

- ember.data writes the source files of the standard library to a Parquet dataset once (cached),
  then tokenises (bytes, vocabulary 256), packs documents into fixed-length rows, shuffles
  globally, batches, and prefetches in worker processes.
- ember.nn builds a decoder-only transformer; ember.optim trains it with AdamW, warmup + cosine
  decay and global-norm clipping; ember.core compiles each step, data-parallel over `--devices`.
- ember.checkpoint saves model, optimizer state, data-iterator state and RNG asynchronously every
  `--ckpt-every` steps, keeping the best by validation loss. Interrupt the run at any moment
  (Ctrl-C, kill -9) and start it again with the same flags: it resumes from the latest checkpoint
  and produces the same losses, step for step, as an uninterrupted run.
- At the end: `metrics.json`, `loss.png` (the loss curves) and a text sample generated with the
  attention KV cache, all in `--out`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import sysconfig
import time
import zlib
from pathlib import Path
from typing import Any


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/train_lm", help="output directory (checkpoints, metrics, plot)")
    p.add_argument("--data-dir", default=None, help="where the Parquet corpus is cached (default: <out>/../data)")
    p.add_argument("--steps", type=int, default=700)
    p.add_argument("--batch", type=int, default=32, help="global batch size (sequences)")
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--devices", type=int, default=1, help="data-parallel over this many (CPU) devices")
    p.add_argument("--workers", type=int, default=2, help="data-loading worker processes (0: in process)")
    p.add_argument("--ckpt-every", type=int, default=100)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--eval-batches", type=int, default=8)
    p.add_argument("--max-files", type=int, default=0, help="use only this many source files (0: all)")
    p.add_argument("--sample-len", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="one line per eval instead of a progress bar")
    p.add_argument("--log-every", type=int, default=0, help="also print the train loss every N steps")
    return p.parse_args(argv)


# ----------------------------------------------------------------------------------------------
# Data: the standard library's source files, as bytes

def stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = [p for p in root.rglob("*.py") if "site-packages" not in p.parts and p.is_file()]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def is_validation(relative_path: str) -> bool:
    """A fixed 5% of the files, chosen by a hash of their path, are held out."""
    return zlib.crc32(relative_path.encode()) % 20 == 0


def build_corpus(data_dir: Path, max_files: int) -> tuple[Path, Path]:
    """Write the corpus to Parquet once (train and validation files); later runs reuse it."""
    import ember.data as ed

    tag = f"stdlib-{sys.version_info.major}.{sys.version_info.minor}" + (f"-{max_files}" if max_files else "")
    train_path, val_path = data_dir / f"{tag}-train.parquet", data_dir / f"{tag}-val.parquet"
    if train_path.exists() and val_path.exists():
        return train_path, val_path
    data_dir.mkdir(parents=True, exist_ok=True)
    root = Path(sysconfig.get_paths()["stdlib"])
    files = stdlib_files()
    if max_files:
        files = files[:max_files]
    train, val = [], []
    for path in files:
        data = path.read_bytes()
        if len(data) < 64:
            continue
        relative = path.relative_to(root).as_posix()
        record = {"path": relative, "text": data}
        (val if is_validation(relative) else train).append(record)
    for records, target in ((train, train_path), (val, val_path)):
        tmp = target.with_suffix(".tmp")
        ed.write_parquet(records, tmp)
        os.replace(tmp, target)  # a half-written corpus is never mistaken for a cached one
    return train_path, val_path


def to_tokens(record: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    return {"tokens": np.frombuffer(record["text"], dtype=np.uint8).astype(np.int32)}


def make_pipeline(path: Path, args: argparse.Namespace, *, seed: int, train: bool) -> Any:
    """Documents -> tokens -> packed rows of seq_len + 1 -> shuffled batches (prefetched)."""
    import ember.data as ed

    source = ed.ParquetDataSource(str(path))
    ds = ed.MapDataset.source(source)
    if train:
        ds = ds.shuffle(seed=seed).repeat(None)  # a new global permutation of the files every epoch
    else:
        ds = ds.repeat(None)  # the validation files in order, cycled: always enough eval batches
    ds = ds.map(to_tokens).to_iter_dataset()
    if train and args.workers > 0:
        ds = ds.mp_prefetch(ed.MultiprocessingOptions(num_workers=args.workers))
    ds = ds.pack({"tokens": args.seq_len + 1})  # first-fit packing: few pad tokens, documents kept whole
    return ds.batch(args.batch, drop_remainder=True)


# ----------------------------------------------------------------------------------------------
# Model

def build_model(args: argparse.Namespace, seed: int) -> Any:
    import ember.nn as nn

    class Block(nn.Module):
        def __init__(self, d: int, heads: int, *, rngs: nn.Rngs) -> None:
            self.norm1 = nn.LayerNorm(d, rngs=rngs)
            self.attention = nn.MultiHeadAttention(heads, d, rngs=rngs, decode=False)
            self.norm2 = nn.LayerNorm(d, rngs=rngs)
            self.up = nn.Linear(d, 4 * d, rngs=rngs)
            self.down = nn.Linear(4 * d, d, rngs=rngs)

        def __call__(self, x: Any, mask: Any) -> Any:
            x = x + self.attention(self.norm1(x), mask=mask)
            return x + self.down(nn.gelu(self.up(self.norm2(x))))

    class Transformer(nn.Module):
        """Byte-level decoder-only transformer with learned positions and tied embeddings."""

        def __init__(self, vocab: int, d: int, layers: int, heads: int, max_len: int, *, rngs: nn.Rngs) -> None:
            self.embed = nn.Embed(vocab, d, rngs=rngs)
            self.positions = nn.Embed(max_len, d, rngs=rngs)
            self.blocks = nn.List([Block(d, heads, rngs=rngs) for _ in range(layers)])
            self.norm = nn.LayerNorm(d, rngs=rngs)
            self.max_len = max_len

        def __call__(self, tokens: Any, positions: Any, mask: Any) -> Any:
            x = self.embed(tokens) + self.positions(positions)
            for block in self.blocks:
                x = block(x, mask)
            return self.embed.attend(self.norm(x))  # logits

    return Transformer(256, args.d_model, args.layers, args.heads, args.seq_len, rngs=nn.Rngs(seed))


def load_pure(node: Any, pure: Any, sharding: Any) -> None:
    """Write a checkpointed pure-dict state back into a module (or optimizer), placed on devices."""
    import ember.core as ec
    import ember.nn as nn
    state = nn.state(node)
    state.replace_by_pure_dict(ec.device_put(pure, sharding))
    nn.update(node, state)


def causal_mask(segment_ids: Any) -> Any:
    """Attend to earlier positions of the same packed document only: (batch, 1, q, k)."""
    import ember.core.numpy as jnp
    n = segment_ids.shape[-1]
    causal = jnp.tril(jnp.ones((n, n), dtype=bool))
    same = segment_ids[:, :, None] == segment_ids[:, None, :]
    return (causal[None] & same & (segment_ids[:, :, None] > 0))[:, None]


def loss_and_tokens(model: Any, batch: dict[str, Any]) -> tuple[Any, Any]:
    """Mean next-byte cross entropy over real (non-padding) targets, and their count."""
    import ember.core.numpy as jnp
    import ember.optim as eo
    tokens, segments, positions = batch["tokens"], batch["tokens_segment_ids"], batch["tokens_positions"]
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    seg_in, seg_out = segments[:, :-1], segments[:, 1:]
    logits = model(inputs, positions[:, :-1], causal_mask(seg_in))
    weights = ((seg_out == seg_in) & (seg_out > 0)).astype(jnp.float32)
    losses = eo.losses.softmax_cross_entropy_with_integer_labels(logits, targets)
    count = jnp.maximum(weights.sum(), 1.0)
    return (losses * weights).sum() / count, count


# ----------------------------------------------------------------------------------------------
# Small utilities: progress bar, PNG plot, unigram baseline

class Progress:
    def __init__(self, total: int, start: int, enabled: bool) -> None:
        self.total, self.start, self.enabled = total, start, enabled
        self.t0 = time.perf_counter()
        self.tokens = 0

    def update(self, step: int, loss: float, tokens: int) -> None:
        self.tokens += tokens
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        done = step - self.start
        rate = self.tokens / elapsed if elapsed > 0 else 0.0
        eta = (self.total - step) * elapsed / done if done else 0.0
        width = 28
        filled = int(width * step / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        sys.stderr.write(f"\r[{bar}] {step}/{self.total} loss {loss:.3f} {rate:,.0f} tok/s ETA {eta:4.0f}s ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def write_png(path: Path, series: dict[str, list[tuple[int, float]]], width: int = 640, height: int = 360) -> None:
    """A line plot of (step, value) series as a PNG, with only numpy and zlib."""
    import struct

    import numpy as np

    colors = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)]
    img = np.full((height, width, 3), 255, np.uint8)
    margin = 30
    img[margin:height - margin, margin] = 0
    img[height - margin, margin:width - margin] = 0
    points = [pt for values in series.values() for pt in values]
    if points:
        xs = [x for x, _ in points]
        ys = [y for _, y in points]
        x0, x1 = min(xs), max(max(xs), min(xs) + 1)
        y0, y1 = min(ys), max(max(ys), min(ys) + 1e-6)

        def to_pixel(x: float, y: float) -> tuple[int, int]:
            px = margin + int((x - x0) / (x1 - x0) * (width - 2 * margin - 1))
            py = height - margin - int((y - y0) / (y1 - y0) * (height - 2 * margin - 1))
            return px, py

        for color, values in zip(colors, series.values()):
            pixels = [to_pixel(x, y) for x, y in values]
            for (ax, ay), (bx, by) in zip(pixels, pixels[1:] or pixels):
                n = max(abs(bx - ax), abs(by - ay), 1)
                for t in range(n + 1):
                    cx, cy = ax + (bx - ax) * t // n, ay + (by - ay) * t // n
                    img[max(cy - 1, 0):cy + 1, max(cx - 1, 0):cx + 1] = color
        for i in range(len(series)):  # a colour swatch per series, top right, in legend order
            img[margin + 12 * i:margin + 12 * i + 8, width - margin - 20:width - margin - 4] = colors[i % 4]
    raw = b"".join(b"\x00" + row.tobytes() for row in img)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    path.write_bytes(png)


def unigram_entropy(path: Path) -> float:
    """The loss (nats/byte) of predicting every byte from byte frequencies alone."""
    import numpy as np
    import pyarrow.parquet as pq
    counts = np.zeros(256, np.float64)
    for text in pq.read_table(path, columns=["text"]).column("text").to_pylist():
        counts += np.bincount(np.frombuffer(text, np.uint8), minlength=256)
    probs = counts / counts.sum()
    nonzero = probs[probs > 0]
    return float(-(nonzero * np.log(nonzero)).sum())


# ----------------------------------------------------------------------------------------------
# Training

def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.devices > 1:
        os.environ.setdefault("EMBER_NUM_CPU_DEVICES", str(args.devices))

    import ember.checkpoint as ecp
    import ember.core as ec
    import ember.core.numpy as jnp
    import ember.nn as nn
    import ember.optim as eo
    from ember.core.sharding import NamedSharding, P

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data_dir = Path(args.data_dir) if args.data_dir else out.parent / "data"
    train_path, val_path = build_corpus(data_dir, args.max_files)
    if args.batch % args.devices:
        raise SystemExit(f"--batch {args.batch} must be divisible by --devices {args.devices}")

    # data-parallel layout: the batch split over devices, everything else replicated
    mesh = ec.make_mesh((args.devices,), ("data",), devices=ec.devices()[:args.devices])
    replicated, batch_sharding = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))

    model = build_model(args, args.seed)
    nn.update(model, ec.device_put(nn.state(model), replicated))  # parameters on every device
    schedule = eo.warmup_cosine_decay_schedule(0.0, args.lr, args.warmup, max(args.steps, args.warmup + 1),
                                               end_value=args.lr * 0.1)
    tx = eo.chain(eo.clip_by_global_norm(1.0), eo.adamw(schedule, weight_decay=args.weight_decay))
    optimizer = nn.Optimizer(model, tx, wrt=nn.Param)  # its state is laid out like the parameters

    @nn.jit
    def train_step(model: Any, optimizer: Any, batch: dict[str, Any]) -> Any:
        (loss, _), grads = nn.value_and_grad(loss_and_tokens, has_aux=True)(model, batch)
        optimizer.update(model, grads)
        return loss

    @nn.jit
    def eval_step(model: Any, batch: dict[str, Any]) -> Any:
        return loss_and_tokens(model, batch)

    options = ecp.CheckpointManagerOptions(save_interval_steps=args.ckpt_every, max_to_keep=2,
                                           best_fn=lambda m: m["val_loss"], best_mode="min", enable_async=True)
    manager = ecp.CheckpointManager(out / "checkpoints", options)
    train_it = iter(make_pipeline(train_path, args, seed=args.seed, train=True))
    rng = ec.random.PRNGKey(args.seed)
    history: dict[str, list] = {"train_loss": [], "val_loss": []}
    start = 0
    latest = manager.latest_step()
    if latest is not None:  # resume: every piece of state comes back, so the run continues exactly
        restored = manager.restore(latest)
        load_pure(model, restored["model"], replicated)
        load_pure(optimizer, restored["optimizer"], replicated)
        train_it.set_state(restored["data"])
        rng = jnp.asarray(restored["rng"], dtype=jnp.uint32)
        history = restored["meta"]["history"]
        start = int(restored["meta"]["step"])
        print(f"resumed from step {start} ({out / 'checkpoints'})", flush=True)

    def evaluate() -> float:
        total, count = 0.0, 0.0
        for _, batch in zip(range(args.eval_batches), iter(make_pipeline(val_path, args, seed=0, train=False))):
            loss, n = eval_step(model, ec.device_put(batch, batch_sharding))
            total += float(loss) * float(n)
            count += float(n)
        if not count:
            raise SystemExit("no validation tokens: use more files (--max-files) or a smaller --batch")
        return total / count

    stop = {"requested": False}
    signal.signal(signal.SIGINT, lambda *_: stop.update(requested=True))  # finish the step, then save
    progress = Progress(args.steps, start, enabled=not args.no_progress and sys.stderr.isatty())
    tokens_per_step = args.batch * args.seq_len
    step = start
    t_start = time.perf_counter()
    timings: dict[str, list[float]] = {"step": [], "checkpoint_blocking": []}
    first_step_seconds = None
    while step < args.steps and not stop["requested"]:
        batch = ec.device_put(next(train_it), batch_sharding)
        t0 = time.perf_counter()
        loss = float(train_step(model, optimizer, batch))  # float() waits for the result
        if first_step_seconds is None:
            first_step_seconds = time.perf_counter() - t0  # trace + compile + one step
        else:
            timings["step"].append(time.perf_counter() - t0)
        step += 1
        rng = ec.random.fold_in(rng, step)  # the run's RNG stream advances with the step (saved too)
        history["train_loss"].append([step, loss])
        progress.update(step, loss, tokens_per_step)
        if args.log_every and step % args.log_every == 0:
            print(f"step {step} loss {loss!r}", flush=True)
        if step % args.eval_every == 0 or step == args.steps:
            val = evaluate()
            history["val_loss"].append([step, val])
            if args.no_progress or not sys.stderr.isatty():
                print(f"step {step:5d}  train loss {loss:.4f}  val loss {val:.4f}", flush=True)
        if step % args.ckpt_every == 0 or step == args.steps:
            val = history["val_loss"][-1][1] if history["val_loss"] else float("inf")
            t0 = time.perf_counter()
            manager.save(step, items={
                "model": nn.state(model).to_pure_dict(),
                "optimizer": nn.state(optimizer).to_pure_dict(),
                "data": train_it.get_state(),
                "rng": rng,
                "meta": {"step": step, "history": history, "config": vars(args)},
            }, metrics={"val_loss": val})
            timings["checkpoint_blocking"].append(time.perf_counter() - t0)  # the rest is written in the background
    progress.close()
    manager.wait_until_finished()
    elapsed = time.perf_counter() - t_start
    if stop["requested"]:
        print(f"interrupted at step {step}; run again with the same flags to resume", flush=True)
        manager.close()
        return {"step": step, "interrupted": True}

    baseline = unigram_entropy(train_path)
    sample = generate(model, args, prompt=b"def ", length=args.sample_len, seed=args.seed)
    final_val = history["val_loss"][-1][1] if history["val_loss"] else float("nan")
    metrics = {
        "steps": args.steps, "final_train_loss": history["train_loss"][-1][1] if history["train_loss"] else None,
        "final_val_loss": final_val, "unigram_baseline": baseline, "best_step": manager.best_step(),
        "tokens_per_second": (step - start) * tokens_per_step / elapsed if elapsed else None,
        "first_step_seconds": first_step_seconds,
        "median_step_seconds": sorted(timings["step"])[len(timings["step"]) // 2] if timings["step"] else None,
        "checkpoint_blocking_seconds": sum(timings["checkpoint_blocking"]),
        "devices": args.devices, "train_loss": history["train_loss"], "val_loss": history["val_loss"],
        "sample": sample,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    write_png(out / "loss.png", {"train": history["train_loss"], "validation": history["val_loss"]})
    manager.close()
    print(f"validation loss {final_val:.3f} nats/byte (unigram baseline {baseline:.3f}); "
          f"metrics.json, loss.png in {out}")
    print("sample:\n" + sample)
    return metrics


def generate(model: Any, args: argparse.Namespace, *, prompt: bytes, length: int, seed: int) -> str:
    """Sample bytes one at a time, reusing the attention KV cache (decode mode)."""
    import numpy as np

    import ember.core as ec
    import ember.core.numpy as jnp
    import ember.nn as nn

    max_len = args.seq_len
    for module in [m for _, m in nn.iter_modules(model) if isinstance(m, nn.MultiHeadAttention)]:
        module.init_cache((1, max_len, args.d_model))
        module.decode = True
    mask = jnp.ones((1, 1, 1, max_len), dtype=bool)

    @nn.jit
    def next_logits(model: Any, token: Any, position: Any) -> Any:
        x = model.embed(token) + model.positions(position)
        for block in model.blocks:
            x = block(x, mask)
        return model.embed.attend(model.norm(x))[:, -1]

    key = ec.random.PRNGKey(seed + 1)
    out = list(prompt)
    logits = None
    for i, byte in enumerate(prompt[:max_len]):
        logits = next_logits(model, jnp.asarray([[byte]], dtype=jnp.int32), jnp.asarray([[i]], dtype=jnp.int32))
    for i in range(len(prompt), min(max_len, len(prompt) + length)):
        key, sub = ec.random.split(key)
        byte = int(ec.random.categorical(sub, logits[0] / 0.8))
        out.append(byte)
        logits = next_logits(model, jnp.asarray([[byte]], dtype=jnp.int32), jnp.asarray([[i]], dtype=jnp.int32))
    for module in [m for _, m in nn.iter_modules(model) if isinstance(m, nn.MultiHeadAttention)]:
        module.decode = False
    del np
    return bytes(out).decode("utf-8", errors="replace")


if __name__ == "__main__":
    main()
