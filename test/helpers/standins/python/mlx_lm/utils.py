# mlx_lm/utils.py's load (d78bf58 and v0.31.3), as far as training uses it: a local model folder (or a repo id in
# the Hugging Face cache) with config.json and safetensors; a stub model with as many layers as the
# config says, and a tokenizer that reads words: BOS, then one id per word (a hash of it), EOS id 2.
import json
import os
import zlib
from pathlib import Path

from . import AFTER_0_31_3


class _Model:
    def __init__(self, layers):
        self.layers = [object()] * layers


class _Tokenizer:
    bos_token_id = 1
    eos_token_id = 2
    vocab_size = 1000

    def encode(self, text):
        return [self.bos_token_id] + [3 + zlib.crc32(word.encode("utf-8")) % (self.vocab_size - 3) for word in str(text).split()]

    def apply_chat_template(self, messages, tools=None, **kwargs):
        return self.encode(" ".join(str(m.get("content", "")) for m in messages))


def _resolve(path_or_repo):
    path = Path(path_or_repo)
    if path.exists():
        return path
    hub = os.environ.get("HF_HUB_CACHE") or os.path.join(os.environ.get("HF_HOME", os.path.expanduser("~/.cache/huggingface")), "hub")
    repo = Path(hub) / ("models--" + str(path_or_repo).replace("/", "--"))
    ref = repo / "refs" / "main"
    if ref.exists():
        snapshot = repo / "snapshots" / ref.read_text().strip()
        if snapshot.exists():
            return snapshot
    raise FileNotFoundError(f"stand-in: {path_or_repo} is no local folder and the stand-in downloads nothing from the Hub.")


def _load(path_or_hf_repo):
    model_path = _resolve(path_or_hf_repo)
    config_file = model_path / "config.json"
    if not config_file.exists():
        raise FileNotFoundError(f"[Errno 2] No such file or directory: '{config_file}'")
    if not list(model_path.glob("model*.safetensors")):
        raise FileNotFoundError(f"No safetensors found in {model_path}")
    config = json.loads(config_file.read_text())
    return _Model(int(config.get("num_hidden_layers", 2))), _Tokenizer()


if AFTER_0_31_3:
    # bfa25a16 (2026-06-11, unreleased): load() gates model code behind trust_remote_code.
    def load(path_or_hf_repo, tokenizer_config=None, model_config=None, adapter_path=None, lazy=False, return_config=False, trust_remote_code=False):
        return _load(path_or_hf_repo)

else:
    # v0.31.3: no trust_remote_code argument (passing one is a TypeError).
    def load(path_or_hf_repo, tokenizer_config=None, model_config=None, adapter_path=None, lazy=False, return_config=False):
        return _load(path_or_hf_repo)
