# mlx_lm/fuse.py (d78bf58 and v0.31.3: --dequantize since v0.28.4): its flags and what it writes into
# --save-path — the fused weights (here: the base model's, copied), model.safetensors.index.json,
# config.json (sorted; without quantization when dequantized), the tokenizer files and a README.md.
# The adapters folder must have adapter_config.json and adapters.safetensors (load_adapters' errors).
import argparse
import json
import shutil
from pathlib import Path

from .utils import _resolve


def build_parser():
    parser = argparse.ArgumentParser(description="Fuse fine-tuned adapters into the base model.")
    parser.add_argument("--model", default="mlx_model", help="The path to the local model directory or Hugging Face repo.")
    parser.add_argument("--save-path", default="fused_model", help="The path to save the fused model.")
    parser.add_argument("--adapter-path", type=str, default="adapters", help="Path to the trained adapter weights and config.")
    parser.add_argument("--upload-repo", help="The Hugging Face repo to upload the model to.", type=str, default=None)
    parser.add_argument("--dequantize", help="Generate a dequantized model.", action="store_true")
    parser.add_argument("--export-gguf", help="Export model weights in GGUF format.", action="store_true")
    parser.add_argument("--gguf-path", help="Path to save the exported GGUF format model weights.", default="ggml-model-f16.gguf", type=str)
    return parser


def main():
    args = build_parser().parse_args()
    print("Loading pretrained model")
    model_path = _resolve(args.model)
    adapter_path = Path(args.adapter_path)
    if not adapter_path.exists():
        raise FileNotFoundError(f"The adapter path does not exist: {adapter_path}")
    if not (adapter_path / "adapter_config.json").exists():
        raise FileNotFoundError(f"The adapter path does not contain adapter_config.json: {adapter_path}")
    if not (adapter_path / "adapters.safetensors").exists():
        raise FileNotFoundError(f"The adapter path does not contain adapters.safetensors: {adapter_path}")
    config = json.loads((model_path / "config.json").read_text())
    if args.dequantize:
        print("Dequantizing model")
        config.pop("quantization", None)
        config.pop("quantization_config", None)
    save = Path(args.save_path)
    save.mkdir(parents=True, exist_ok=True)
    weights = sorted(model_path.glob("model*.safetensors"))
    for w in weights:
        shutil.copyfile(w, save / w.name)
    (save / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": sum(w.stat().st_size for w in weights)}, "weight_map": {}}, indent=4))
    (save / "config.json").write_text(json.dumps(dict(sorted(config.items())), indent=4))
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model"):
        if (model_path / name).exists():
            shutil.copyfile(model_path / name, save / name)
    (save / "README.md").write_text(f"---\nlibrary_name: mlx\ntags: [mlx]\n---\n# {save.name}\n\nFused from {args.model} with the adapters in {adapter_path}.\n")
