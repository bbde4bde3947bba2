"""The main job of examples/train_lm.py on the reference stack: JAX + Flax NNX + Optax + Orbax + Grain.

    python benchmarks/train_lm_reference.py --steps 150 --out runs/train_lm_reference

The same byte-level decoder-only transformer (same architecture, sizes, parameter names and
initializers: Flax NNX's, which ember.nn copies), trained on the same Parquet corpus of the
standard library's source files (the files examples/train_lm.py's ``build_corpus`` writes), with
the same pipeline (global shuffle of the files, reshuffled every epoch -> bytes -> first-fit
packing into rows of seq_len + 1 with segment ids and positions -> batches, Grain worker
prefetch), the same optimizer chain (global-norm clipping, AdamW, warmup + cosine decay), the
same checkpoint cadence (Orbax CheckpointManager, async saves every ``--ckpt-every`` steps of
model, optimizer state, Grain iterator state and RNG, keeping the best by validation loss), and
data parallelism over ``--devices`` host devices (``--xla_force_host_platform_device_count``).
It writes a ``metrics.json`` with the keys of train_lm.py's.

It never imports ember: the flags, the corpus file list, the unigram baseline, the progress bar
and the PNG plot come from examples/train_lm.py, loaded by path, whose top level imports only
the standard library (checked at the end of the run).

Differences that the libraries impose (see benchmarks/bench_train_lm.py's report):
- Grain has no random-access Parquet source: a small pyarrow one is defined here (row groups
  read on demand, a bounded per-process cache), like ember.data's ``ParquetDataSource``.
- Grain's global shuffle is a different permutation from ember.data's (same seed, different
  algorithm), so the two runs see the files in a different order; losses agree statistically,
  not bit for bit.
- Grain's packer rejects sequences longer than the row; ember.data's truncates them. The
  reference truncates in the tokenising map, which gives the same rows.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "train_lm.py"
NUM_PACKING_BINS = 16  # ember.data's default for IterDataset.pack


def load_example() -> Any:
    """examples/train_lm.py as a module (its top level imports only the standard library)."""
    spec = importlib.util.spec_from_file_location("_train_lm_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------------------------
# Data

def ensure_corpus(example: Any, data_dir: Path, max_files: int) -> tuple[Path, Path]:
    """The Parquet files of ``build_corpus``. If they are not there yet (the benchmark builds
    them with ember first), write the same records with pyarrow under the same names."""
    tag = f"stdlib-{sys.version_info.major}.{sys.version_info.minor}" + (f"-{max_files}" if max_files else "")
    train_path, val_path = data_dir / f"{tag}-train.parquet", data_dir / f"{tag}-val.parquet"
    if train_path.exists() and val_path.exists():
        return train_path, val_path
    import sysconfig

    import pyarrow as pa
    import pyarrow.parquet as pq

    data_dir.mkdir(parents=True, exist_ok=True)
    root = Path(sysconfig.get_paths()["stdlib"])
    files = example.stdlib_files()
    if max_files:
        files = files[:max_files]
    train: dict[str, list] = {"path": [], "text": []}
    val: dict[str, list] = {"path": [], "text": []}
    for path in files:
        data = path.read_bytes()
        if len(data) < 64:
            continue
        relative = path.relative_to(root).as_posix()
        target = val if example.is_validation(relative) else train
        target["path"].append(relative)
        target["text"].append(data)
    schema = pa.schema([("path", pa.string()), ("text", pa.binary())])
    for columns, target in ((train, train_path), (val, val_path)):
        tmp = target.with_suffix(".tmp")
        pq.write_table(pa.table(columns, schema=schema), tmp, row_group_size=6, compression="none")
        os.replace(tmp, target)
    return train_path, val_path


class ParquetSource:
    """Random access to the rows of one Parquet file (Grain has no Parquet random-access source).
    Row groups are read on demand and kept in a small per-process LRU cache. Thread-safe: Grain
    reads elements from a thread pool (and a pyarrow ParquetFile must not be read concurrently)."""

    def __init__(self, path: str | os.PathLike, cache_row_groups: int = 64) -> None:
        import numpy as np
        import pyarrow.parquet as pq
        self._path = os.fspath(path)
        meta = pq.read_metadata(self._path)
        rows = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
        self._starts = np.concatenate([[0], np.cumsum(rows)]).astype(np.int64)
        self._cache_size = cache_row_groups
        self._reset()

    def _reset(self) -> None:
        import collections
        import threading
        self._lock = threading.Lock()
        self._file = None
        self._cache: collections.OrderedDict[int, dict[str, list]] = collections.OrderedDict()

    def __getstate__(self) -> dict[str, Any]:  # Grain's workers get a copy without the open file
        state = self.__dict__.copy()
        state["_file"], state["_cache"], state["_lock"] = None, None, None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset()

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getitem__(self, index: int) -> dict[str, Any]:
        import numpy as np
        import pyarrow.parquet as pq
        index = int(index)
        if not 0 <= index < len(self):
            raise IndexError(index)
        group = int(np.searchsorted(self._starts, index, side="right") - 1)
        with self._lock:
            rows = self._cache.get(group)
            if rows is None:
                if self._file is None:
                    self._file = pq.ParquetFile(self._path)
                rows = self._file.read_row_group(group).to_pydict()
                self._cache[group] = rows
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(group)
        local = index - int(self._starts[group])
        return {name: values[local] for name, values in rows.items()}

    def __repr__(self) -> str:
        return f"ParquetSource({self._path!r}, rows={len(self)})"


def to_tokens(record: dict[str, Any], max_len: int) -> dict[str, Any]:
    """Bytes -> int32 tokens, truncated to the row length (ember.data's packer truncates;
    Grain's refuses longer sequences)."""
    import numpy as np
    return {"tokens": np.frombuffer(record["text"], dtype=np.uint8)[:max_len].astype(np.int32)}


def make_pipeline(path: Path, args: Any, *, seed: int, train: bool) -> Any:
    """Documents -> tokens -> packed rows of seq_len + 1 -> shuffled batches (prefetched)."""
    import grain
    from grain.experimental import FirstFitPackIterDataset

    ds = grain.MapDataset.source(ParquetSource(path))
    if train:
        ds = ds.shuffle(seed=seed).repeat(None)  # Grain reseeds the permutation every epoch
    else:
        ds = ds.repeat(None)  # the validation files in order, cycled
    ds = ds.map(functools.partial(to_tokens, max_len=args.seq_len + 1)).to_iter_dataset()
    if train and args.workers > 0:
        ds = ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=args.workers))
    ds = FirstFitPackIterDataset(ds, length_struct={"tokens": args.seq_len + 1},
                                 num_packing_bins=NUM_PACKING_BINS, shuffle_bins=False)
    return ds.batch(args.batch, drop_remainder=True)


# ----------------------------------------------------------------------------------------------
# Model (the code of examples/train_lm.py with flax.nnx for ember.nn)

def build_model(args: Any, seed: int) -> Any:
    from flax import nnx

    class Block(nnx.Module):
        def __init__(self, d: int, heads: int, *, rngs: nnx.Rngs) -> None:
            self.norm1 = nnx.LayerNorm(d, rngs=rngs)
            self.attention = nnx.MultiHeadAttention(heads, d, rngs=rngs, decode=False)
            self.norm2 = nnx.LayerNorm(d, rngs=rngs)
            self.up = nnx.Linear(d, 4 * d, rngs=rngs)
            self.down = nnx.Linear(4 * d, d, rngs=rngs)

        def __call__(self, x: Any, mask: Any) -> Any:
            x = x + self.attention(self.norm1(x), mask=mask)
            return x + self.down(nnx.gelu(self.up(self.norm2(x))))

    class Transformer(nnx.Module):
        """Byte-level decoder-only transformer with learned positions and tied embeddings."""

        def __init__(self, vocab: int, d: int, layers: int, heads: int, max_len: int, *, rngs: nnx.Rngs) -> None:
            self.embed = nnx.Embed(vocab, d, rngs=rngs)
            self.positions = nnx.Embed(max_len, d, rngs=rngs)
            self.blocks = nnx.List([Block(d, heads, rngs=rngs) for _ in range(layers)])
            self.norm = nnx.LayerNorm(d, rngs=rngs)
            self.max_len = max_len

        def __call__(self, tokens: Any, positions: Any, mask: Any) -> Any:
            x = self.embed(tokens) + self.positions(positions)
            for block in self.blocks:
                x = block(x, mask)
            return self.embed.attend(self.norm(x))  # logits

    return Transformer(256, args.d_model, args.layers, args.heads, args.seq_len, rngs=nnx.Rngs(seed))


def load_pure(node: Any, pure: Any, sharding: Any) -> None:
    """Write a checkpointed pure-dict state back into a module (or optimizer), placed on devices."""
    import jax
    from flax import nnx
    state = nnx.state(node)
    state.replace_by_pure_dict(jax.device_put(pure, sharding))
    nnx.update(node, state)


def causal_mask(segment_ids: Any) -> Any:
    """Attend to earlier positions of the same packed document only: (batch, 1, q, k)."""
    import jax.numpy as jnp
    n = segment_ids.shape[-1]
    causal = jnp.tril(jnp.ones((n, n), dtype=bool))
    same = segment_ids[:, :, None] == segment_ids[:, None, :]
    return (causal[None] & same & (segment_ids[:, :, None] > 0))[:, None]


def loss_and_tokens(model: Any, batch: dict[str, Any]) -> tuple[Any, Any]:
    """Mean next-byte cross entropy over real (non-padding) targets, and their count."""
    import jax.numpy as jnp
    import optax
    tokens, segments, positions = batch["tokens"], batch["tokens_segment_ids"], batch["tokens_positions"]
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    seg_in, seg_out = segments[:, :-1], segments[:, 1:]
    logits = model(inputs, positions[:, :-1], causal_mask(seg_in))
    weights = ((seg_out == seg_in) & (seg_out > 0)).astype(jnp.float32)
    losses = optax.losses.softmax_cross_entropy_with_integer_labels(logits, targets)
    count = jnp.maximum(weights.sum(), 1.0)
    return (losses * weights).sum() / count, count


# ----------------------------------------------------------------------------------------------
# Training

def main(argv: list[str] | None = None) -> dict[str, Any]:
    example = load_example()
    args = example.parse_args(argv)
    if args.devices > 1:  # before jax is imported
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={args.devices}".strip()

    import grain
    import grain.checkpoint
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax
    import orbax.checkpoint as ocp
    from absl import flags as absl_flags
    from flax import nnx
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    if not absl_flags.FLAGS.is_parsed():  # Grain reads absl flags (defaults are fine)
        absl_flags.FLAGS.mark_as_parsed()

    out = Path(args.out).absolute()
    out.mkdir(parents=True, exist_ok=True)
    data_dir = Path(args.data_dir) if args.data_dir else out.parent / "data"
    train_path, val_path = ensure_corpus(example, data_dir, args.max_files)
    if args.batch % args.devices:
        raise SystemExit(f"--batch {args.batch} must be divisible by --devices {args.devices}")
    if len(jax.devices()) < args.devices:
        raise SystemExit(f"--devices {args.devices}: only {len(jax.devices())} devices (was jax imported earlier?)")

    mesh = Mesh(np.array(jax.devices()[:args.devices]), ("data",))
    replicated, batch_sharding = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))

    model = build_model(args, args.seed)
    nnx.update(model, jax.device_put(nnx.state(model), replicated))
    schedule = optax.warmup_cosine_decay_schedule(0.0, args.lr, args.warmup, max(args.steps, args.warmup + 1),
                                                  end_value=args.lr * 0.1)
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(schedule, weight_decay=args.weight_decay))
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    # The optimizer's scalar state (step and count) is created on the default device; placed as it
    # leaves the first step, so that step 2 does not trace and compile train_step a second time
    # (the literal translation of train_lm.py does: about 4 s on 2 cores). ember.nn lays the whole
    # optimizer state out like the parameters by itself.
    nnx.update(optimizer, jax.device_put(nnx.state(optimizer), replicated))

    @nnx.jit
    def train_step(model: Any, optimizer: Any, batch: dict[str, Any]) -> Any:
        (loss, _), grads = nnx.value_and_grad(loss_and_tokens, has_aux=True)(model, batch)
        optimizer.update(model, grads)
        return loss

    @nnx.jit
    def eval_step(model: Any, batch: dict[str, Any]) -> Any:
        return loss_and_tokens(model, batch)

    options = ocp.CheckpointManagerOptions(save_interval_steps=args.ckpt_every, max_to_keep=2,
                                           best_fn=lambda m: m["val_loss"], best_mode="min",
                                           enable_async_checkpointing=True)
    manager = ocp.CheckpointManager(out / "checkpoints", options=options)
    train_it = iter(make_pipeline(train_path, args, seed=args.seed, train=True))
    rng = jax.random.PRNGKey(args.seed)
    history: dict[str, list] = {"train_loss": [], "val_loss": []}
    start = 0
    latest = manager.latest_step()
    if latest is not None:  # resume: model, optimizer, data iterator, RNG and history come back
        def abstract(node: Any) -> Any:
            return jax.tree.map(ocp.utils.to_shape_dtype_struct, nnx.state(node).to_pure_dict())
        restored = manager.restore(latest, args=ocp.args.Composite(
            model=ocp.args.StandardRestore(abstract(model)),
            optimizer=ocp.args.StandardRestore(abstract(optimizer)),
            data=grain.checkpoint.CheckpointRestore(train_it),
            rng=ocp.args.StandardRestore({"key": jax.ShapeDtypeStruct(rng.shape, rng.dtype)}),
            meta=ocp.args.JsonRestore(),
        ))
        load_pure(model, restored["model"], replicated)
        load_pure(optimizer, restored["optimizer"], replicated)
        rng = jnp.asarray(restored["rng"]["key"], dtype=jnp.uint32)
        history = restored["meta"]["history"]
        start = int(restored["meta"]["step"])
        print(f"resumed from step {start} ({out / 'checkpoints'})", flush=True)

    def evaluate() -> float:
        total, count = 0.0, 0.0
        for _, batch in zip(range(args.eval_batches), iter(make_pipeline(val_path, args, seed=0, train=False))):
            loss, n = eval_step(model, jax.device_put(batch, batch_sharding))
            total += float(loss) * float(n)
            count += float(n)
        if not count:
            raise SystemExit("no validation tokens: use more files (--max-files) or a smaller --batch")
        return total / count

    progress = example.Progress(args.steps, start, enabled=not args.no_progress and sys.stderr.isatty())
    tokens_per_step = args.batch * args.seq_len
    step = start
    t_start = time.perf_counter()
    timings: dict[str, list[float]] = {"step": [], "checkpoint_blocking": []}
    first_step_seconds = None
    while step < args.steps:
        batch = jax.device_put(next(train_it), batch_sharding)
        t0 = time.perf_counter()
        loss = float(train_step(model, optimizer, batch))  # float() waits for the result
        if first_step_seconds is None:
            first_step_seconds = time.perf_counter() - t0  # trace + compile + one step
        else:
            timings["step"].append(time.perf_counter() - t0)
        step += 1
        rng = jax.random.fold_in(rng, step)
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
            manager.save(step, args=ocp.args.Composite(
                model=ocp.args.StandardSave(nnx.state(model).to_pure_dict()),
                optimizer=ocp.args.StandardSave(nnx.state(optimizer).to_pure_dict()),
                data=grain.checkpoint.CheckpointSave(train_it),
                rng=ocp.args.StandardSave({"key": rng}),
                meta=ocp.args.JsonSave({"step": step, "history": history, "config": vars(args)}),
            ), metrics={"val_loss": val})
            timings["checkpoint_blocking"].append(time.perf_counter() - t0)  # the rest is written in the background
    progress.close()
    manager.wait_until_finished()
    elapsed = time.perf_counter() - t_start

    baseline = example.unigram_entropy(train_path)
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
    example.write_png(out / "loss.png", {"train": history["train_loss"], "validation": history["val_loss"]})
    manager.close()
    leaked = sorted(m for m in sys.modules if m == "ember" or m.startswith("ember."))
    if leaked:
        raise SystemExit(f"the reference run imported ember ({leaked[:5]}): it must not")
    print(f"validation loss {final_val:.3f} nats/byte (unigram baseline {baseline:.3f}); "
          f"metrics.json, loss.png in {out}")
    print("sample:\n" + sample)
    return metrics


def generate(model: Any, args: Any, *, prompt: bytes, length: int, seed: int) -> str:
    """Sample bytes one at a time, reusing the attention KV cache (decode mode)."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

    max_len = args.seq_len
    attention = [m for _, m in nnx.iter_modules(model) if isinstance(m, nnx.MultiHeadAttention)]
    for module in attention:
        module.init_cache((1, max_len, args.d_model))
        module.decode = True
    mask = jnp.ones((1, 1, 1, max_len), dtype=bool)

    @nnx.jit
    def next_logits(model: Any, token: Any, position: Any) -> Any:
        x = model.embed(token) + model.positions(position)
        for block in model.blocks:
            x = block(x, mask)
        return model.embed.attend(model.norm(x))[:, -1]

    key = jax.random.PRNGKey(seed + 1)
    out = list(prompt)
    logits = None
    for i, byte in enumerate(prompt[:max_len]):
        logits = next_logits(model, jnp.asarray([[byte]], dtype=jnp.int32), jnp.asarray([[i]], dtype=jnp.int32))
    for i in range(len(prompt), min(max_len, len(prompt) + length)):
        key, sub = jax.random.split(key)
        byte = int(jax.random.categorical(sub, logits[0] / 0.8))
        out.append(byte)
        logits = next_logits(model, jnp.asarray([[byte]], dtype=jnp.int32), jnp.asarray([[i]], dtype=jnp.int32))
    for module in attention:
        module.decode = False
    return bytes(out).decode("utf-8", errors="replace")


if __name__ == "__main__":
    main()
