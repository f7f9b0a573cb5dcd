"""`gnivo values`: a trained policy read as a step-level value model, α·log π_θ(y<t)/π_ref(y<t).

- `maths`: per-token log-ratios -> prefix values -> step values and changes -> completion scores (numpy only);
- `target`: what MODEL_OR_RUN names: the policy, its reference, the scale, the step unit and the rewards;
- `scorer`: batched forward passes of the policy and the reference over prompt + completion;
- `sources`: the prompts and completions to read (`--prompt`, `--data`, an eval folder, a run's log): `read_items`;
- `rewarding`: each completion's reward through the reward contract, as training gives it;
- `compute`: the library call that ties them together into a `ValuesReport` (`report`);
- `terminal`, `html` (with `page_style`), `plot`, `export`: the report in the terminal, as one self-contained
  page, as a figure, as JSON (the terminal also draws the progress); `colors`: the scale the terminal and the page
  share.

See docs/values.md for what the numbers mean.
"""
