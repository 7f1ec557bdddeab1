# mlx_lm/tuner/datasets.py (d78bf58) for local data: train/valid/test.jsonl from a folder, every line
# json.loads'd, the format taken from the first line, its errors word for word.
import json
from pathlib import Path


def create_dataset(data, tokenizer, config):
    mask_prompt = getattr(config, "mask_prompt", False)
    prompt_feature = getattr(config, "prompt_feature", "prompt")
    text_feature = getattr(config, "text_feature", "text")
    completion_feature = getattr(config, "completion_feature", "completion")
    chat_feature = getattr(config, "chat_feature", "messages")
    sample = data[0]  # an empty file: IndexError, as upstream
    if prompt_feature in sample and completion_feature in sample:
        return [tokenizer.encode(d[prompt_feature] + " " + d[completion_feature]) for d in data]
    elif chat_feature in sample:
        return [tokenizer.apply_chat_template(d[chat_feature], tools=d.get("tools", None)) for d in data]
    elif text_feature in sample:
        if mask_prompt:
            raise ValueError("Prompt masking not supported for text dataset.")
        return [tokenizer.encode(d[text_feature]) for d in data]
    else:
        raise ValueError(
            "Unsupported data format, check the supported formats here:\n"
            "https://github.com/ml-explore/mlx-lm/blob/main/mlx_lm/LORA.md#Data."
        )


def load_local_dataset(data_path, tokenizer, config):
    def load_subset(path):
        if not path.exists():
            return []
        with open(path, "r") as fid:
            data = [json.loads(l) for l in fid]
        return create_dataset(data, tokenizer, config)

    names = ("train", "valid", "test")
    return [load_subset(data_path / f"{n}.jsonl") for n in names]


def load_dataset(args, tokenizer):
    data_path = Path(args.data)
    if not data_path.exists():
        raise ValueError(f"stand-in: {args.data} is no local folder and the stand-in downloads no Hugging Face dataset.")
    train, valid, test = load_local_dataset(data_path, tokenizer, args)
    if args.train and len(train) == 0:
        raise ValueError("Training set not found or empty. Must provide training set for fine-tuning.")
    if args.train and len(valid) == 0:
        print("Warning: Validation set not found or empty. Training will proceed without validation.")
    if args.test and len(test) == 0:
        raise ValueError("Test set not found or empty. Must provide test set for evaluation.")
    return train, valid, test
