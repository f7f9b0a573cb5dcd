"""The catalogue of bad inputs and faults that benchmarks/faults.py runs (and tests/integration/test_faults.py).

To add a case, append a `Case` to CASES: a unique name, a setup that writes what it needs into the
workspace and returns the `gnivo` arguments, the expected exit code and a pattern for the first error line.
Faults that need more than one command (kill, interrupt, resume) pass `run=` with their own sequence.
"""

from __future__ import annotations

import signal

import fault_lifecycle
import fault_rewards
import fault_runs
from faults import Case, Workspace

AIME_ROW = '{"id": 1, "problem": "What is 1 + 1?", "answer": "2"}\n'
CHAT_ROW = '{"problem": [{"role": "user", "content": "What is 1 + 1?"}], "answer": "2"}\n'
CHAT_SYSTEM_ROW = (
    '{"problem": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "1 + 1?"}], "answer": "2"}\n'
)


def _train(name: str, **changes):
    """A `gnivo train` of the base recipe with some sections changed."""
    return lambda w: ["train", str(w.recipe(name, **changes))]


def _train_text(name: str, text: str | bytes, *extra: str):
    return lambda w: ["train", str(w.file(f"{name}.yaml", text)), *extra]


def _data_file(name: str, text: str, training: dict | None = None, **data):
    """Train on a JSONL file with these rows."""

    def setup(w: Workspace) -> list[str]:
        path = w.file(f"{name}.jsonl", text)
        data_section = {"source": str(path), "synthetic": None, **data}
        return ["train", str(w.recipe(name, data=data_section, training=training or {}))]

    return setup


DUPLICATE_KEY = "rewards: [math]\ntraining:\n  max_steps: 3\n  learning_rate: 1.0e-5\n  max_steps: 500\n"
DUPLICATE_SECTION = "rewards: [math]\ntraining: {max_steps: 3}\ngeneration: {top_k: 5}\ntraining: {max_steps: 500}\n"
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


def _truncated_model(w: Workspace) -> list[str]:
    import shutil

    target = w.path("truncated-model")
    shutil.copytree(w.model, target, dirs_exist_ok=True)
    weights = target / "model.safetensors"
    weights.write_bytes((w.model / "model.safetensors").read_bytes()[:5000])
    return ["train", str(w.recipe("model-truncated-weights", model={"name": str(target)}))]


def _no_tokenizer(w: Workspace) -> list[str]:
    target = w.path("no-tokenizer-model")
    target.mkdir(exist_ok=True)
    for name in ("config.json", "model.safetensors"):
        (target / name).write_bytes((w.model / name).read_bytes())
    return ["train", str(w.recipe("model-without-tokenizer", model={"name": str(target)}))]


def _eval(w: Workspace, *extra: str, data: bool = True) -> list[str]:
    args = ["eval", "--bench", "aime24", "--model", str(w.model), "--max-new-tokens", "4", *extra]
    return [*args, "--data", str(w.file("aime24.jsonl", AIME_ROW))] if data else args


def _plot(output: str):
    def setup(w: Workspace) -> list[str]:
        run = w.path("plot-runs")
        run.mkdir(exist_ok=True)
        return ["plot", str(run), "-o", output if output != "DIR" else str(w.root)]

    return setup


def _output_is_file(w: Workspace) -> list[str]:
    w.file("a-file", "not a folder")
    return ["train", str(w.recipe("train-output-is-a-file")), "-o", str(w.path("a-file"))]


def _broken_adapter(w: Workspace) -> list[str]:
    adapter = w.path("broken-adapter")
    adapter.mkdir(exist_ok=True)
    (adapter / "adapter_config.json").write_text("{not json")
    return ["train", str(w.recipe("model-broken-adapter", model={"name": str(adapter)}))]


SCORE_ROW = '{"prompt": "q", "completion": "\\\\boxed{2}", "answer": "2"}\n'


def _data_dir(w: Workspace) -> list[str]:
    folder = w.path("rows-dir.jsonl")
    folder.mkdir(exist_ok=True)
    return ["train", str(w.recipe("data-dir", data={"source": str(folder), "synthetic": None}))]


def _data_loop(w: Workspace) -> list[str]:
    first, second = w.path("loop-a.jsonl"), w.path("loop-b.jsonl")
    for link, target in ((first, second), (second, first)):
        if not link.is_symlink():
            link.symlink_to(target.name)
    return ["train", str(w.recipe("data-loop", data={"source": str(first), "synthetic": None}))]


UNREACHABLE_HUB = {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "", "TRANSFORMERS_OFFLINE": ""}
PROXIES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
UNREACHABLE_HUB |= {"HF_DATASETS_OFFLINE": ""} | dict.fromkeys(PROXIES, "")
OFFLINE = {"HF_HUB_OFFLINE": "1"}

CASES: list[Case] = [
    # Recipe values that used to pass validation and then fail deep in the stack or silently do harm.
    Case(
        "recipe-learning-rate-inf",
        _train("lr-inf", training={"learning_rate": float("inf")}),
        r"training\.learning_rate: must be a finite number, got inf",
    ),
    Case(
        "recipe-learning-rate-nan-set",
        lambda w: ["train", str(w.recipe("lr-nan")), "--set", "training.learning_rate=.nan"],
        r"--set training\.learning_rate: must be a finite number",
    ),
    Case("recipe-top-k-negative", _train("top-k", generation={"top_k": -5}), r"generation\.top_k: must be >= 0"),
    Case(
        "recipe-max-grad-norm-negative",
        _train("grad-norm", training={"max_grad_norm": -1}),
        r"training\.max_grad_norm: must be > 0",
    ),
    Case(
        "recipe-weight-decay-negative",
        _train("wd", training={"weight_decay": -0.1}),
        r"training\.weight_decay: must be >= 0",
    ),
    Case(
        "recipe-warmup-longer-than-run",
        _train("warmup", training={"warmup_steps": 10, "lr_scheduler": "linear"}),
        r"training\.warmup_steps: must be below training\.max_steps",
    ),
    Case(
        "recipe-warmup-with-constant-lr",
        _train("warmup-constant", training={"warmup_steps": 1, "max_steps": 5}),
        r"training\.warmup_steps: has no effect with lr_scheduler 'constant'",
    ),
    Case("recipe-seed-negative", _train("seed", training={"seed": -1}), r"training\.seed: must be in \[0, "),
    Case("recipe-top-p-zero", _train("top-p", generation={"top_p": 0}), r"generation\.top_p: must be in \(0, 1\]"),
    Case(
        "recipe-lora-alpha-zero", _train("lora-alpha", lora={"enabled": True, "alpha": 0}), r"lora\.alpha: must be >= 1"
    ),
    Case(
        "recipe-reward-weight-inf",
        _train("weight-inf", rewards=[{"name": "math", "weight": float("inf")}]),
        r"rewards\.0\.weight: must be a finite number",
    ),
    Case(
        "recipe-lora-empty-targets",
        _train("lora-empty", lora={"enabled": True, "target_modules": []}),
        r"lora\.target_modules: must not be empty",
    ),
    # YAML: what the parser would silently merge, expand or misread.
    Case("yaml-duplicate-key", _train_text("dup-key", DUPLICATE_KEY), r"dup-key\.yaml:5: duplicate key 'max_steps'"),
    Case(
        "yaml-duplicate-section",
        _train_text("dup-section", DUPLICATE_SECTION),
        r"dup-section\.yaml:4: duplicate key 'training' \(first at line 2\)",
    ),
    Case(
        "yaml-alias-bomb",
        _train_text("bomb", ALIAS_BOMB + "rewards: [math]\n"),
        r"bomb\.yaml:2: YAML aliases",
        timeout_s=60,
    ),
    Case(
        "yaml-not-utf8",
        _train_text("latin1", "rewards: [math]\n# caf\u00e9\n".encode("latin-1")),
        r"latin1\.yaml:2: not UTF-8 text \(byte 0xe9\)",
    ),
    Case(
        "yaml-float-without-dot",
        _train_text("sci", "rewards: [math]\ntraining:\n  learning_rate: 1e-5\n"),
        r"sci\.yaml:3: training\.learning_rate: .*write 1\.0e-5",
    ),
    Case(
        "yaml-syntax-error",
        _train_text("syntax", "rewards: [math\ntraining: {max_steps: 2}\n"),
        r"syntax\.yaml:\d+: invalid YAML",
    ),
    Case(
        "yaml-set-duplicate-key",
        lambda w: ["train", str(w.recipe("set-dup")), "--set", "training={max_steps: 1, max_steps: 2}"],
        r"--set .*duplicate key 'max_steps'",
    ),
    Case(
        "yaml-set-without-value",
        lambda w: ["train", str(w.recipe("set-no-value")), "--set", "training.max_steps"],
        r"--set 'training\.max_steps': expected key\.path=value",
    ),
    Case(
        "recipe-reward-weights-all-zero",
        _train("zero-weights", rewards=[{"name": "math", "weight": 0}]),
        r"rewards: no reward has a weight > 0",
    ),
    Case(
        "recipe-synthetic-count-huge",
        _train("huge-count", data={"synthetic": {"count": 10**9}}),
        r"data\.synthetic: count must be <= 1000000",
    ),
    Case("recipe-is-a-directory", lambda w: ["train", str(w.root)], r"cannot read recipe: Is a directory"),
    Case(
        "yaml-two-documents",
        _train_text("two-docs", "rewards: [math]\n---\ntraining: {max_steps: 2}\n"),
        r"two-docs\.yaml:2: invalid YAML: expected a single document",
    ),
    Case(
        "yaml-python-tag",
        _train_text("python-tag", "rewards: [math]\ntraining: !!python/object/apply:os.system [echo hi]\n"),
        r"python-tag\.yaml:2: invalid YAML: could not determine a constructor",
    ),
    # Data that would train on nonsense.
    Case(
        "data-template-unknown-column",
        _train("template", data={"prompt_template": "Solve {problem} ({levle})"}),
        r"data\.prompt_template: names \{levle\}, which the data lacks",
    ),
    Case(
        "data-template-unknown-column-file",
        _data_file("template-file", AIME_ROW * 2, prompt_template="{prompt} ({levle})"),
        r"data\.prompt_template names \{levle\}, which the data lacks .*row 1",
    ),
    Case(
        "data-null-prompt",
        _data_file("null-prompt", AIME_ROW + '{"problem": null, "answer": "1"}\n'),
        r"data row 2 of .*column 'problem' is null",
    ),
    Case(
        "data-fewer-rows-than-a-batch",
        _data_file("few-rows", AIME_ROW * 2, training={"per_device_batch_size": 8}),
        r"has 2 prompts, fewer than the 4 one step needs",
    ),
    Case(
        "data-limit-below-a-batch",
        _train("limit", data={"limit": 1}, training={"per_device_batch_size": 4}),
        r"data\.limit: has 1 prompt, fewer than the 2 one step needs",
    ),
    Case(
        "data-prompt-not-text",
        _data_file("list-prompt", '{"problem": ["a", "b"], "answer": "1"}\n' * 2),
        r"data row 1 of .*column 'problem' \(data\.prompt_column\) message 1 is str, not a \{role, content\} mapping",
    ),
    # Chat rows: checked like text rows, and the recipe's prompt settings never silently dropped.
    Case(
        "data-chat-null-content",
        _data_file("chat-null", CHAT_ROW + '{"problem": [{"role": "user", "content": null}], "answer": "1"}\n'),
        r"data row 2 of .*column 'problem' \(data\.prompt_column\) message 1 \(user\) has content null",
    ),
    Case(
        "data-chat-unknown-role",
        _data_file("chat-role", '{"problem": [{"role": "tool", "content": "x"}], "answer": "1"}\n' * 2),
        r"data row 1 of .*message 1 has role 'tool' \(allowed: system, user, assistant\)",
    ),
    Case(
        "data-chat-with-template",
        _data_file("chat-template", CHAT_ROW * 2, prompt_template="{prompt} Be brief."),
        r"data row 1 of .*holds chat messages, which are used as they are, so data\.prompt_template",
    ),
    Case(
        "data-chat-second-system-message",
        _data_file("chat-system", CHAT_SYSTEM_ROW * 2, system_prompt="Be brief."),
        r"data row 1 of .*already has a system message, and data\.system_prompt would add a second one",
    ),
    Case(
        "data-template-shows-the-answer",
        _train("leak", data={"prompt_template": "{prompt} Write it as \\boxed{answer}."}),
        r"data\.prompt_template: renders \{answer\}, the column the 'math' reward grades against",
    ),
    Case(
        "data-source-csv",
        lambda w: [
            "train",
            str(w.recipe("csv", data={"source": str(w.file("rows.csv", "problem\n1+1\n")), "synthetic": None})),
        ],
        r"data\.source: .*rows\.csv: only \.jsonl and \.json files are read",
    ),
    # Models.
    Case(
        "model-missing-folder",
        _train("missing-model", model={"name": "./no-such-model"}),
        r"missing-model\.yaml:\d+: model\.name: no such model directory: \./no-such-model",
    ),
    Case("model-broken-adapter-config", _broken_adapter, r"adapter_config\.json: not valid JSON", loads_model=True),
    Case("model-without-tokenizer", _no_tokenizer, r"holds no tokenizer", loads_model=True),
    Case(
        "model-truncated-weights",
        _truncated_model,
        r"could not load the model from .*is the folder complete",
        loads_model=True,
    ),
    Case(
        "eval-device-typo", lambda w: _eval(w, "--device", "cdua"), r"--device 'cdua': not a device", loads_model=True
    ),
    # Checks against the loaded model, before training starts.
    Case(
        "lora-target-modules-match-nothing",
        _train("lora-targets", lora={"enabled": True, "target_modules": ["q_proj", "qkv_proj"]}),
        r"lora\.target_modules: 'qkv_proj' matches no module",
        loads_model=True,
    ),
    Case(
        "generation-beyond-context",
        _train("context", generation={"max_new_tokens": 600}),
        r"generation\.max_new_tokens: 600 new tokens .* beyond the model's context of 512",
        loads_model=True,
    ),
    # Paths.
    Case("train-output-is-a-file", _output_is_file, r"--output-dir .*a-file: is a file, not a directory"),
    Case("plot-output-unknown-extension", _plot("x.xyz"), r"--output x\.xyz: unsupported file type '\.xyz'"),
    Case("plot-output-is-a-directory", _plot("DIR"), r"--output .*: is a directory"),
    # No network: fail fast and once.
    Case(
        "hub-benchmark-unreachable",
        lambda w: _eval(w, data=False),
        r"could not load HuggingFaceH4/aime_2024 .*out of reach \(cannot connect to 127\.0\.0\.1:9.*--data",
        env=UNREACHABLE_HUB,
        loads_model=True,
        max_stderr_lines=1,
    ),
    Case(
        "hub-model-offline",
        _train("hub-model", model={"name": "gnivo-faults/absent-model"}),
        r"could not load model 'gnivo-faults/absent-model': not in the local cache.*HF_HUB_OFFLINE is set",
        env=OFFLINE,
        loads_model=True,
        max_stderr_lines=3,  # the run header, wrapped, and the error
    ),
    Case(
        "hub-dataset-unreachable",
        _train("hub-data", data={"source": "gnivo-faults/absent-data", "synthetic": None}),
        r"could not load data\.source 'gnivo-faults/absent-data' .*out of reach",
        env=UNREACHABLE_HUB,
        loads_model=True,
        max_stderr_lines=3,  # the run header, wrapped, and the error
    ),
    # Interrupts and crashes, and the resume after them (real processes: see fault_runs.py).
    Case(
        "train-sigint-saves-then-resumes",
        lambda w: [],
        r"stopped by SIGINT (after step \d+|while step \d+ generated \(that step is dropped\)); checkpoint-\d+ saved",
        exit_code=130,
        loads_model=True,
        run=fault_runs.train_signal(signal.SIGINT),
    ),
    Case(
        "train-sigterm-saves-then-resumes",
        lambda w: [],
        r"stopped by SIGTERM (after step \d+|while step \d+ generated \(that step is dropped\)); checkpoint-\d+ saved",
        exit_code=143,
        loads_model=True,
        run=fault_runs.train_signal(signal.SIGTERM),
    ),
    Case(
        "train-kill-9-then-resume",
        lambda w: [],
        r"resumed: steps 1\.\.8 once each, 16 samples counted",
        exit_code=0,
        loads_model=True,
        run=fault_runs.train_kill9,
    ),
    Case(
        "eval-kill-9-then-rerun",
        lambda w: [],
        r"resumed: \d+ samples kept from the killed run, 32 in all, each once",
        exit_code=0,
        loads_model=True,
        run=fault_runs.eval_kill9,
    ),
    Case(
        "score-kill-9-then-rerun",
        lambda w: [],
        r"resumed: \d+ rows kept from the killed run, 100000 in all, each once",
        exit_code=0,
        run=fault_runs.score_kill9,
    ),
    Case(
        "resume-with-a-changed-recipe",
        lambda w: [],
        r"--resume: the recipe differs from the run's recipe\.yaml in algorithm\.alpha \(0\.2 -> 5\.0\)",
        loads_model=True,
        run=fault_runs.resume_changed_recipe,
    ),
    Case(
        "resume-a-finished-run",
        lambda w: [],
        r"is finished \(2 of 2 steps\): nothing to resume",
        exit_code=0,
        loads_model=True,
        run=fault_runs.resume_finished_run,
    ),
    Case(
        "resume-after-a-torn-metrics-line",
        lambda w: [],
        r"resumed: steps \[1, 2, 3\]",
        exit_code=0,
        loads_model=True,
        run=fault_runs.resume_torn_metrics,
    ),
    Case(
        "failed-start-then-retry",
        lambda w: [],
        r"retried: trained without --resume",
        exit_code=0,
        loads_model=True,
        run=fault_runs.failed_start_retry,
    ),
]

# Issue 18: one writer per run, finishing what a stop left, hostile rewards, and inputs that pointed the wrong way.
CASES += [
    Case(
        "train-twice-into-one-dir",
        lambda w: [],
        r"is in use by `gnivo train .*` \(pid \d+, started .*\); wait for it to finish, or choose another",
        loads_model=True,
        timeout_s=240,
        run=fault_lifecycle.second_writer(resume=False),
    ),
    Case(
        "resume-while-still-training",
        lambda w: [],
        r"--resume: .* is still being trained by `gnivo train .*` \(pid \d+.*\); stop it first",
        loads_model=True,
        timeout_s=240,
        run=fault_lifecycle.second_writer(resume=True),
    ),
    Case(
        "resume-after-kill-9-stale-lock",
        lambda w: [],
        r"resumed past the stale gnivo\.lock: steps 1\.\.6 once each, lock released",
        exit_code=0,
        loads_model=True,
        run=fault_lifecycle.stale_lock_after_kill9,
    ),
    Case(
        "resume-finished-run-without-summary",
        lambda w: [],
        r"trained to step 2 but its summary\.json is missing .* rebuilt from checkpoint-2; nothing to train",
        exit_code=0,
        loads_model=True,
        run=fault_lifecycle.finished_without_summary(torn=False),
    ),
    Case(
        "resume-finished-run-with-torn-summary",
        lambda w: [],
        r"trained to step 2 but its summary\.json is unreadable .* rebuilt from checkpoint-2; nothing to train",
        exit_code=0,
        loads_model=True,
        run=fault_lifecycle.finished_without_summary(torn=True),
    ),
    Case(
        "train-into-a-folder-with-the-users-recipe",
        lambda w: [],
        r"holds .*recipe\.yaml, which is not a recipe gnivo wrote \(your own\?\); gnivo never overwrites it",
        run=fault_lifecycle.users_recipe_kept,
    ),
    Case(
        "resume-with-another-process-count",
        lambda w: [],
        r"--resume: checkpoint-2 was trained by 1 process and this resume runs 2 processes",
        loads_model=True,
        run=fault_lifecycle.other_process_count,
    ),
    Case(
        "resume-after-metrics-emptied",
        lambda w: [],
        r"metrics\.jsonl lacks the rows of 2 of the 2 steps already trained .* resumes\.jsonl records the gap",
        exit_code=0,
        loads_model=True,
        run=fault_lifecycle.resume_finding("emptied-metrics"),
    ),
    Case(
        "resume-after-run-recipe-edited",
        lambda w: [],
        r"recipe\.yaml was edited after gnivo wrote it: .* resumes\.jsonl records it",
        exit_code=0,
        loads_model=True,
        run=fault_lifecycle.resume_finding("edited-recipe"),
    ),
    Case(
        "resume-with-invalid-yaml-run-recipe",
        lambda w: [],
        r"recipe\.yaml:\d+: not valid YAML \(.*\); cannot check the resumed recipe against it",
        loads_model=True,
        run=fault_lifecycle.resume_finding("invalid-yaml"),  # which also checks it is one error line
    ),
    Case(
        "reward-beyond-float32",
        lambda w: [],
        r"step 1: reward 'huge' returned 1e\+300 for sample 0, beyond the 3\.4e\+38 that float32 holds",
        loads_model=True,
        run=fault_rewards.train_with("huge"),
    ),
    Case(
        "reward-changes-working-directory",
        lambda w: [],
        r"trained: steps \[1, 2, 3\], checkpoints, final/ and summary\.json in runs/wanderer/ as given",
        exit_code=0,
        loads_model=True,
        run=fault_rewards.train_with_wanderer,
    ),
    Case(
        "reward-calls-sys-exit",
        lambda w: [],
        r"step 1: reward 'exiter' called sys\.exit\(3\); a reward returns its scores",
        loads_model=True,
        run=fault_rewards.train_with("exiter"),
    ),
    Case(
        "reward-raises-keyboardinterrupt",
        lambda w: [],
        r"interrupted while reward 'interrupter' was scoring \(Ctrl-C, or a KeyboardInterrupt it raised\)",
        exit_code=130,
        loads_model=True,
        run=fault_rewards.train_with("interrupter"),
    ),
    Case(
        "score-reward-calls-sys-exit",
        lambda w: [],
        r"reward 'exiter' called sys\.exit\(3\).*; nothing was written",
        run=fault_rewards.score_with("exiter"),
    ),
    Case(
        "score-reward-raises-keyboardinterrupt",
        lambda w: [],
        r"interrupted while reward 'interrupter' was scoring .*; nothing was written",
        exit_code=130,
        run=fault_rewards.score_with("interrupter"),
    ),
    Case(
        "train-sigint-while-loading",
        lambda w: [],
        r"stopped by SIGINT before training started; nothing was written",
        exit_code=130,
        loads_model=True,
        run=fault_lifecycle.interrupt_while_loading,
    ),
    Case(
        "train-sigterm-in-long-generation",
        lambda w: [],
        r"stopped by SIGTERM (after step \d+|while step \d+ generated \(that step is dropped\)); checkpoint-\d+ saved",
        exit_code=143,
        loads_model=True,
        timeout_s=240,
        run=fault_lifecycle.sigterm_in_long_generation,
    ),
    Case(
        "recipe-batch-beyond-memory",
        _train("beyond-memory", algorithm={"num_generations": 10**7}, training={"per_device_batch_size": 10**7}),
        r"training\.per_device_batch_size: 10,000,000 completions per device .* need at least [\d,.]+ GiB .* "
        r"more than the [\d,.]+ GiB of",
        loads_model=True,
    ),
    Case(
        "checkpoint-on-a-full-disk",
        lambda w: [],
        r"no space left on the disk holding .*run-disk-full \(0 MiB free\) while saving; free some space, then "
        r"--resume goes on from the last complete checkpoint, checkpoint-1",
        loads_model=True,
        run=fault_lifecycle.disk_full_at_a_checkpoint,
    ),
    Case(
        "set-null-like-a-file",
        lambda w: ["train", str(w.recipe("set-null")), "--set", "data.synthetic=null"],
        r"--set data\.synthetic: must be a mapping, got null; leave the key out to keep its default",
    ),
    Case(
        "yaml-null-like-set",
        _train_text("file-null", "rewards: [math]\ndata:\n  synthetic: null\n"),
        r"file-null\.yaml:3: data\.synthetic: must be a mapping, got null; leave the key out to keep its default",
    ),
    Case(
        "score-param-float-without-dot",
        lambda w: ["score", str(w.file("param.jsonl", SCORE_ROW)), "--reward", "math", "--param", "correct=1.0e300"],
        r"parameter 'correct' must be float, got '1\.0e300' \(YAML reads 1\.0e300 as text; write 1\.0e\+300\)",
    ),
    Case(
        "score-param-duplicate-key",
        lambda w: ["score", str(w.file("param.jsonl", SCORE_ROW)), "--reward", "math", "--param", "x={a: 1, a: 2}"],
        r"--param 'x=\{a: 1, a: 2\}': duplicate key 'a'",
    ),
    Case("data-source-is-a-directory", _data_dir, r"data\.source: .*rows-dir\.jsonl is a directory, not a file"),
    Case(
        "data-source-symlink-loop",
        _data_loop,
        r"data\.source: .*loop-a\.jsonl is a symbolic link that points back to itself \(a loop\)",
    ),
    Case(
        "recipe-50-megabytes",
        lambda w: ["train", str(w.file("huge.yaml", "rewards: [math]\n" + ("# " + "x" * 98 + "\n") * 500_000))],
        r"huge\.yaml: larger than 1 MiB, far beyond any recipe; is this the right file\?",
        timeout_s=30,
    ),
]
