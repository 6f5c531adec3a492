"""all-MiniLM-L6-v2 on ONNX Runtime: exported once from the installed package, then cached.

The export (torch → ONNX, with mean pooling and normalization inside the graph) runs
offline from ``embedding.model_path()`` the first time a backend needs it, in a child
process; int8 dynamic
quantization keeps the vectors within cosine 0.99 of sentence-transformers' by leaving the
feed-forward output projections in float. Later runs load the cached file in a fraction
of a second and need neither torch nor transformers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

RECIPE = 1  # bump when the export or quantization below changes
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Rows x tokens² per forward pass: attention takes memory in the square of the length, so
# 256-token passages go 8 at a time (peak RSS ~340 MB instead of ~730 MB at 32 rows).
_ATTENTION_BUDGET = 8 * 256 * 256


DEFAULT_CACHE = Path("~/.cache/quotebot")
"""Where exported models are kept unless told otherwise (``QUOTEBOT_CACHE_DIR``)."""


def model_file(source: Path, name: str, quantized: bool, cache: Path = DEFAULT_CACHE) -> Path:
    """The cached ONNX file of the model in ``source``, exported (and quantized) if missing.

    The name carries a fingerprint of the weights, the package versions that shape the
    export and :data:`RECIPE`, so an upgrade exports again instead of reusing a stale file.
    """
    fingerprint = _fingerprint(source)
    folder = cache.expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir()) / "quotebot-cache"
        log.warning("cannot write %s; exporting the ONNX model to %s", cache, folder)
        folder.mkdir(parents=True, exist_ok=True)
    fp32 = folder / f"{name}-{fingerprint}-fp32.onnx"
    int8 = folder / f"{name}-{fingerprint}-int8.onnx"
    target = int8 if quantized else fp32
    if not target.exists():
        _export_in_child(source, fp32, int8 if quantized else None)
    return target


def _export_in_child(source: Path, fp32: Path, int8: Path | None) -> None:
    """Export (and quantize) in a process of its own: torch and the traced graph take
    ~0.5 GB that would otherwise stay with the bot or the build for as long as it runs."""
    log.info("exporting the embedding model to ONNX (once): %s", fp32.name)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "quotebot.embedding.onnx_encoder",
            str(source),
            str(fp32),
            str(int8 or ""),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise RuntimeError(f"exporting the model to ONNX failed: {lines[-1] if lines else '?'}")


class OnnxEncoder:
    """Encodes texts with an ONNX Runtime session and the model's own fast tokenizer."""

    def __init__(
        self,
        source: Path,
        name: str,
        *,
        quantized: bool,
        threads: int = 0,
        cache: Path = DEFAULT_CACHE,
    ) -> None:
        """Load (exporting first if needed) the model in ``source``.

        Args:
            source: A sentence-transformers model folder (tokenizer.json, config files).
            name: The model's name, the start of the cached file's name.
            quantized: Use the int8 model instead of float32.
            threads: ONNX Runtime intra-op threads; 0 lets it choose (one per core).
            cache: Where the exported model is kept.
        """
        import onnxruntime
        from tokenizers import Tokenizer

        path = model_file(source, name, quantized, cache)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self.dimension = int(json.loads((source / "config.json").read_text())["hidden_size"])
        self.tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=_max_length(source))

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length float32 rows, one per text, computed in batches of similar length."""
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(texts, add_special_tokens=True)
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(-lengths, kind="stable")
        start = 0
        while start < len(order):
            longest = int(lengths[order[start]])
            size = max(1, min(batch_size, _ATTENTION_BUDGET // max(longest, 1) ** 2))
            batch = order[start : start + size]
            ids = np.zeros((len(batch), longest), dtype=np.int64)
            mask = np.zeros_like(ids)
            for row, i in enumerate(batch):
                ids[row, : lengths[i]] = encodings[i].ids
                mask[row, : lengths[i]] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            vectors[batch] = self.session.run(None, feed)[0]
            start += size
        return vectors


def _max_length(source: Path) -> int:
    config = source / "sentence_bert_config.json"
    if config.exists():
        return int(json.loads(config.read_text()).get("max_seq_length", 256))
    return 256


def _fingerprint(source: Path) -> str:
    parts = [f"recipe={RECIPE}"]
    for name in ("config.json", "tokenizer.json", "1_Pooling/config.json"):
        path = source / name
        parts.append(path.read_text() if path.exists() else "")
    for weights in sorted(source.glob("*.safetensors")) + sorted(source.glob("*.bin")):
        parts.append(f"{weights.name}:{weights.stat().st_size}")
    for package in ("torch", "transformers", "onnxruntime", "onnx"):
        try:
            parts.append(f"{package}={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{package}=-")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def _export(source: Path, target: Path) -> None:
    """Trace the model with mean pooling and normalization into one ONNX graph."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    transformers_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    bert = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            tokens = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            weights = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    example = tuple(torch.ones((2, 16), dtype=torch.long) for _ in _INPUTS)
    axes = {name: {0: "batch", 1: "tokens"} for name in _INPUTS}
    tmp = _temporary(target)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Pooled(),
            example,
            str(tmp),
            input_names=list(_INPUTS),
            output_names=["sentence_embedding"],
            dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    os.replace(tmp, target)


def _quantize(fp32: Path, target: Path) -> None:
    """int8 dynamic quantization of the weight matrices, per channel.

    The feed-forward output projections (after GELU, where activations have outliers)
    stay in float: quantizing them too drops the worst passage's cosine to ~0.991.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(fp32)).graph
    weights = {tensor.name for tensor in graph.initializer}
    keep_float = [
        node.name
        for node in graph.node
        if node.op_type == "MatMul"
        and (
            node.input[1] not in weights
            or ("/output/dense/" in node.name and "/attention/" not in node.name)
        )
    ]
    tmp = _temporary(target)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to pre-process does not apply to this graph
    try:
        quantize_dynamic(
            fp32,
            tmp,
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=keep_float,
        )
    finally:
        root.setLevel(level)
    os.replace(tmp, target)


def _temporary(target: Path) -> Path:
    return target.with_name(f".tmp-{os.getpid()}-{target.name}")


def _main(source: str, fp32: str, int8: str) -> None:
    """The child of :func:`_export_in_child`: the files that are missing, fp32 first."""
    if not Path(fp32).exists():
        _export(Path(source), Path(fp32))
    if int8 and not Path(int8).exists():
        _quantize(Path(fp32), Path(int8))


if __name__ == "__main__":
    _main(*sys.argv[1:4])
