# mlx_lm/lora.py (d78bf58): CONFIG_DEFAULTS word for word, run() as upstream has it (it REPLACES the
# training_callback it is given with get_reporting_callbacks(report_to), None by default: a caller's
# callback is never called, as since 6d74487e), and train_model(args, model, train_set, valid_set,
# training_callback) with mlx_lm/tuner/trainer.py's loop: validation at iteration 1, every
# steps_per_eval and at the end ({"iteration": it - 1, "val_loss", "val_time"}); a training report
# every steps_per_report and at the end ({"iteration", "train_loss", "learning_rate",
# "iterations_per_second", "tokens_per_second", "trained_tokens", "peak_memory"}); adapters saved
# every save_every (adapters.safetensors and {it:07d}_adapters.safetensors) and at the end, and
# adapter_config.json (sorted vars(args)) first. Its errors are upstream's. The loss is simulated:
# it falls from about 3 towards 1 (lower when resumed), deterministic for a seed. Each iteration
# takes STANDIN_TRAIN_STEP_MS (default 20) so a job can be watched and cancelled.
import json
import math
import os
import random
import time
import types
from pathlib import Path

from .tuner.callbacks import TrainingCallback, get_reporting_callbacks
from .tuner.datasets import load_dataset
from . import AFTER_0_31_3
from .utils import load

CONFIG_DEFAULTS = {
    "model": "Qwen/Qwen3-0.6b",
    "train": False,
    "fine_tune_type": "lora",
    "optimizer": "adam",
    "optimizer_config": {
        "adam": {},
        "adamw": {},
        "muon": {},
        "sgd": {},
        "adafactor": {},
    },
    "data": "mlx-community/WikiSQL",
    "seed": 0,
    "num_layers": 16,
    "batch_size": 4,
    "iters": 1000,
    "val_batches": 25,
    "learning_rate": 1e-5,
    "steps_per_report": 10,
    "steps_per_eval": 200,
    "resume_adapter_file": None,
    "adapter_path": "adapters",
    "save_every": 100,
    "test": False,
    "test_batches": 500,
    "max_seq_length": 2048,
    "config": None,
    "grad_checkpoint": False,
    "grad_accumulation_steps": 1,
    "clear_cache_threshold": 0,
    "lr_schedule": None,
    "lora_parameters": {"rank": 8, "dropout": 0.0, "scale": 20.0},
    "mask_prompt": False,
    "report_to": None,
    "project_name": None,
    "trust_remote_code": False,
}
if not AFTER_0_31_3:
    # v0.31.3 has no trust_remote_code (bfa25a16 added it) and loads with tokenizer_config={"trust_remote_code": True}.
    del CONFIG_DEFAULTS["trust_remote_code"]


def _save(path, iteration, loss):
    # Not safetensors: a few bytes saying what a real file would hold.
    Path(path).write_text(json.dumps({"stand_in": "adapter weights", "iteration": iteration, "loss": loss}))


def train_model(args, model, train_set, valid_set, training_callback: TrainingCallback = None):
    rng = random.Random(args.seed)
    if args.num_layers > len(model.layers):
        raise ValueError(f"Requested to train {args.num_layers} layers but the model only has {len(model.layers)} layers.")
    if args.fine_tune_type == "full":
        args.lora_parameters = None
    elif args.fine_tune_type not in ["lora", "dora"]:
        raise ValueError(f"Received unknown fine-tune-type {args.fine_tune_type}")
    start_loss = 3.0
    if args.resume_adapter_file is not None:
        print(f"Loading fine-tuned weights from {args.resume_adapter_file}")
        saved = json.loads(Path(args.resume_adapter_file).read_text())
        start_loss = float(saved.get("loss", start_loss))
    optimizer_name = args.optimizer.lower()
    if optimizer_name not in ("adam", "adamw", "muon", "sgd", "adafactor"):
        raise ValueError(f"Unsupported optimizer: {optimizer_name}")

    # iterate_batches (trainer.py:116-120): train and valid alike (valid at the first evaluation).
    for dataset in [train_set] + ([valid_set] if valid_set else []):
        if len(dataset) < args.batch_size:
            raise ValueError(f"Dataset must have at least batch_size={args.batch_size} examples but only has {len(dataset)}.")
    if args.grad_accumulation_steps < 1:
        raise ValueError("grad_accumulation_steps must be at least 1")
    adapter_path = Path(args.adapter_path)
    adapter_path.mkdir(parents=True, exist_ok=True)
    adapter_file = adapter_path / "adapters.safetensors"
    with open(adapter_path / "adapter_config.json", "w") as fid:
        json.dump(dict(sorted(vars(args).items())), fid, indent=4)

    step_s = float(os.environ.get("STANDIN_TRAIN_STEP_MS", "20")) / 1000
    tokens_per_batch = args.batch_size * max(1, min(args.max_seq_length, sum(len(x) for x in train_set) // max(1, len(train_set))))
    loss_at = lambda it: 1.0 + (start_loss - 1.0) * math.exp(-it / max(10.0, args.iters / 3)) + rng.uniform(-0.02, 0.02)
    trained_tokens = 0
    losses = 0.0
    steps = 0
    train_time = 0.0
    print(f"Starting training..., iters: {args.iters}")
    for it in range(1, args.iters + 1):
        tic = time.perf_counter()
        if valid_set and (it == 1 or it % args.steps_per_eval == 0 or it == args.iters):
            val_tic = time.perf_counter()
            val_loss = loss_at(it) + 0.1
            val_time = time.perf_counter() - val_tic
            print(f"Iter {it}: Val loss {val_loss:.3f}, Val took {val_time:.3f}s", flush=True)
            if training_callback is not None:
                training_callback.on_val_loss_report({"iteration": it - 1, "val_loss": val_loss, "val_time": val_time})
            tic = time.perf_counter()
        time.sleep(step_s)
        losses += loss_at(it)
        steps += 1
        train_time += time.perf_counter() - tic
        if it % args.steps_per_report == 0 or it == args.iters:
            train_loss = losses / steps
            n_tokens = tokens_per_batch * steps
            trained_tokens += n_tokens
            it_sec = args.steps_per_report / train_time
            tokens_sec = float(n_tokens) / train_time
            print(f"Iter {it}: Train loss {train_loss:.3f}, Learning Rate {args.learning_rate:.3e}, It/sec {it_sec:.3f}, Tokens/sec {tokens_sec:.3f}, Trained Tokens {trained_tokens}, Peak mem 0.050 GB", flush=True)
            if training_callback is not None:
                training_callback.on_train_loss_report(
                    {
                        "iteration": it,
                        "train_loss": train_loss,
                        "learning_rate": args.learning_rate,
                        "iterations_per_second": it_sec,
                        "tokens_per_second": tokens_sec,
                        "trained_tokens": trained_tokens,
                        "peak_memory": 0.05,
                    }
                )
            losses = 0.0
            steps = 0
            train_time = 0.0
        if it % args.save_every == 0:
            _save(adapter_file, it, loss_at(it))
            checkpoint = adapter_file.parent / f"{it:07d}_adapters.safetensors"
            _save(checkpoint, it, loss_at(it))
            print(f"Iter {it}: Saved adapter weights to {adapter_file} and {checkpoint}.", flush=True)
    _save(adapter_file, args.iters, loss_at(args.iters))
    print(f"Saved final weights to {adapter_file}.", flush=True)


def run(args, training_callback: TrainingCallback = None):
    training_callback = get_reporting_callbacks(
        args.report_to,
        project_name=args.project_name,
        log_dir=args.adapter_path,
        config=vars(args),
    )
    print("Loading pretrained model")
    if AFTER_0_31_3:
        model, tokenizer = load(args.model, tokenizer_config={"trust_remote_code": args.trust_remote_code}, trust_remote_code=args.trust_remote_code)
    else:
        model, tokenizer = load(args.model, tokenizer_config={"trust_remote_code": True})
    print("Loading datasets")
    train_set, valid_set, test_set = load_dataset(args, tokenizer)
    if args.test and not args.train:
        pass
    elif args.train:
        print("Training")
        train_model(args, model, train_set, valid_set, training_callback)
    else:
        raise ValueError("Must provide at least one of --train or --test")
