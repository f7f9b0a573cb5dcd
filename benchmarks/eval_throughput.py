"""Generation throughput of `gnivo eval`'s HF backend against a plain one-sample-at-a-time loop.

Both generate the same samples count on the embedded model (SmolLM2-135M-Instruct): 8 math500
problems x 4 samples, at most 128 new tokens, temperature 0.6, top-p 0.95, from the same prompts.
The plain loop calls `model.generate` once per sample; gnivo batches the samples of several problems
(left padding, KV cache, sorted by prompt length) and stops each sequence at its end token.

    python benchmarks/eval_throughput.py [--data ../shared/benchmarks] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch

from gnivo_cli.evaluation.benchmarks import load_problems
from gnivo_cli.evaluation.generation import SampleRequest
from gnivo_cli.evaluation.hf_backend import DEFAULT_BATCH_SIZE, HFGenerator
from gnivo_cli.evaluation.prompts import PromptTemplate
from gnivo_cli.evaluation.settings import SamplingSettings
from gnivo_cli.models.loading import load_model_and_tokenizer

REPO = Path(__file__).resolve().parents[1]


def plain_loop(model, tokenizer, prompts: list[list[int]], samples: int, settings: SamplingSettings) -> tuple[int, int]:
    """One `generate` call per sample: what a simple evaluation script does."""
    torch.manual_seed(settings.seed)
    done = tokens = 0
    eos = tokenizer.eos_token_id
    for prompt in prompts:
        input_ids = torch.tensor([prompt])
        for _ in range(samples):
            with torch.inference_mode():
                output = model.generate(
                    input_ids,
                    attention_mask=torch.ones_like(input_ids),
                    do_sample=True,
                    temperature=settings.temperature,
                    top_p=settings.top_p,
                    top_k=None,
                    max_new_tokens=settings.max_new_tokens,
                    pad_token_id=eos,
                )
            generated = output[0, input_ids.shape[1] :].tolist()
            tokens += generated.index(eos) + 1 if eos in generated else len(generated)
            done += 1
    return done, tokens


def gnivo_batched(generator: HFGenerator, requests: list[SampleRequest]) -> tuple[int, int]:
    done = tokens = 0
    for batch in generator.generate(requests):
        done += len(batch)
        tokens += sum(c.num_tokens for c in batch)
    return done, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "benchmarks"))
    parser.add_argument("--problems", type=int, default=8)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    args = parser.parse_args()

    model, tokenizer = load_model_and_tokenizer("embedded", device="cpu")
    model.eval()
    settings = SamplingSettings(
        temperature=0.6, top_p=0.95, max_new_tokens=args.max_new_tokens, samples_per_problem=args.samples
    )
    problems = load_problems("math500", args.data, limit=args.problems)
    template = PromptTemplate()
    prompts = [template.encode(tokenizer, p.problem) for p in problems]
    requests = [
        SampleRequest(p.id, i, ids) for p, ids in zip(problems, prompts, strict=True) for i in range(args.samples)
    ]
    generator = HFGenerator(model, tokenizer, settings, batch_size=args.batch_size)

    # Warm up both paths (first-call allocations), untimed.
    plain_loop(model, tokenizer, prompts[:1], 1, SamplingSettings(max_new_tokens=4))
    gnivo_batched(HFGenerator(model, tokenizer, SamplingSettings(max_new_tokens=4)), requests[:2])

    print(
        f"embedded model, {len(problems)} math500 problems x {args.samples} samples, <= {args.max_new_tokens} "
        f"new tokens, temperature 0.6, top-p 0.95; torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}"
    )
    results = {}
    for name, run in (
        ("plain loop (1 sample per generate)", lambda: plain_loop(model, tokenizer, prompts, args.samples, settings)),
        (f"gnivo HF backend (batch {args.batch_size})", lambda: gnivo_batched(generator, requests)),
    ):
        start = time.perf_counter()
        samples, tokens = run()
        seconds = time.perf_counter() - start
        results[name] = samples / seconds
        print(
            f"{name:40s} {samples:3d} samples {tokens:6d} tokens {seconds:8.1f} s "
            f"{samples / seconds:7.3f} samples/s {tokens / seconds:8.1f} tokens/s"
        )
    plain, batched = results.values()
    print(f"speed-up (samples/s): {batched / plain:.2f}x")


if __name__ == "__main__":
    main()
