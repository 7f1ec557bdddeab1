"""MLX Model Manager's entry point for fine-tuning jobs: mlx_lm.lora's training with a callback.

    python3 mlx_manager_train.py CONFIG.json [--iteration-offset N]

CONFIG is mlx_lm.lora's own configuration (the keys of `mlx_lm.lora.CONFIG_DEFAULTS`: model, data,
adapter_path, iters, batch_size, learning_rate, num_layers, max_seq_length, grad_checkpoint,
fine_tune_type, mask_prompt, lora_parameters {rank, scale, dropout}, resume_adapter_file, ...),
written as JSON, which is also YAML: `mlx_lm.lora -c CONFIG.json --train` reads the same file.
Missing keys take CONFIG_DEFAULTS, as `mlx_lm.lora`'s main() does.

It prints one line per report, `MLX_MANAGER_REPORT {json}`, next to mlx_lm's own output:
  {"event": "start", "mlx_lm": version, "iterationOffset": N}
  {"event": "train", ...the train_info mlx_lm passes its callback: iteration, train_loss,
      learning_rate, iterations_per_second, tokens_per_second, trained_tokens, peak_memory}
  {"event": "val", iteration, val_loss, val_time}
  {"event": "done", "adapter_path": ...} or {"event": "error", "type": ..., "message": ...}
Iterations are reported plus the offset (a job resumed from a checkpoint goes on counting).

Why not `mlx_lm.lora.run(args, training_callback)`: since mlx-lm 6d74487e (#317) run() replaces
the callback it is given with the report_to ones (None unless report_to is set), so it would never
be called. This does what run() does for training — seed, load, load_dataset, train_model — with
the callback passed through. The printed progress of mlx_lm.lora changed between releases; the
callback's dictionaries did not.
"""

import inspect
import json
import sys
import traceback
import types

MARK = "MLX_MANAGER_REPORT"


def report(event, **fields):
    print(f"{MARK} {json.dumps({'event': event, **fields})}", flush=True)


def seed_numpy(seed):
    """run()'s np.random.seed: numpy comes with mlx-lm (its dependency); a Python without it has nothing to seed."""
    try:
        import numpy as np
    except ImportError:
        return
    np.random.seed(seed)


def main(argv):
    if len(argv) < 2:
        print("usage: mlx_manager_train.py CONFIG.json [--iteration-offset N]", file=sys.stderr)
        return 2
    offset = 0
    if "--iteration-offset" in argv:
        offset = int(argv[argv.index("--iteration-offset") + 1])
    with open(argv[1], "r") as f:
        config = json.load(f)

    import mlx_lm
    from mlx_lm import lora
    from mlx_lm.tuner.callbacks import TrainingCallback
    from mlx_lm.tuner.datasets import load_dataset
    from mlx_lm.utils import load

    # As mlx_lm.lora's main(): the file's values, then CONFIG_DEFAULTS for what it leaves out.
    args = dict(config)
    for k, v in lora.CONFIG_DEFAULTS.items():
        if args.get(k, None) is None:
            args[k] = v
    args["train"] = True
    args = types.SimpleNamespace(**args)

    class Reports(TrainingCallback):
        def on_train_loss_report(self, train_info):
            info = dict(train_info)
            info["iteration"] = info.get("iteration", 0) + offset
            report("train", **info)

        def on_val_loss_report(self, val_info):
            info = dict(val_info)
            info["iteration"] = info.get("iteration", 0) + offset
            report("val", **info)

    report("start", mlx_lm=getattr(mlx_lm, "__version__", "unknown"), iterationOffset=offset)
    try:
        seed_numpy(args.seed)
        # load() takes trust_remote_code only after v0.31.3 (bfa25a16); it is never on unless asked for.
        trust = bool(getattr(args, "trust_remote_code", False))
        extra = {"trust_remote_code": trust} if "trust_remote_code" in inspect.signature(load).parameters else {}
        model, tokenizer = load(args.model, tokenizer_config={"trust_remote_code": trust}, **extra)
        train_set, valid_set, _ = load_dataset(args, tokenizer)
        lora.train_model(args, model, train_set, valid_set, Reports())
    except Exception as error:  # noqa: BLE001 - every failure is reported, then raised on
        report("error", type=type(error).__name__, message=str(error))
        traceback.print_exc()
        return 1
    report("done", adapter_path=str(args.adapter_path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
