"""The inline stylesheet and script of the `--html` page (nothing is fetched: the page works offline)."""

STYLE = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --paper: #ffffff; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; padding: 20px 24px 64px; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
       color: var(--ink); background: var(--paper); }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 17px; margin: 28px 0 4px; }
.lead { max-width: 70em; margin: 4px 0 12px; }
.swatch { padding: 0 4px; border-radius: 3px; }
.swatch.neg { background: #b2182b; color: #fff; }
.swatch.pos { background: #2166ac; color: #fff; }
.legend { max-width: 460px; margin: 8px 0 12px; }
.controls { margin-bottom: 6px; color: var(--muted); }
.controls label { margin-left: 10px; color: var(--ink); cursor: pointer; }
.bar { height: 14px; border-radius: 3px; border: 1px solid var(--line); }
.ticks { display: flex; justify-content: space-between; font-size: 12px; font-variant-numeric: tabular-nums; }
.ticks.words { color: var(--muted); }
table.meta { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
table.meta th { text-align: left; color: var(--muted); font-weight: normal; padding: 2px 14px 2px 0;
                vertical-align: top; white-space: nowrap; }
table.meta td { padding: 2px 0; }
.caveat { max-width: 70em; font-size: 13px; background: var(--soft); border-left: 3px solid var(--line);
          padding: 6px 10px; }
.notes { font-size: 13px; color: #9a6700; }
.question { white-space: pre-wrap; background: var(--soft); border: 1px solid var(--line); border-radius: 6px;
            padding: 8px 10px; max-width: 70em; }
.count { color: var(--muted); font-size: 13px; margin: 6px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 12px;
         padding-bottom: 8px; align-items: start; }
.completion { border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px; background: var(--paper);
              min-width: 0; overflow-x: auto; }
.completion header { display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
.rank { font-weight: 700; }
.reward { font-variant-numeric: tabular-nums; }
.cut { font-size: 12px; color: #9a6700; }
.numbers { font-size: 12px; color: var(--muted); font-variant-numeric: tabular-nums; }
.spark { display: block; width: 100%; height: 40px; margin: 6px 0; background: var(--soft); border-radius: 4px; }
.spark line { stroke: #8c959f; stroke-width: 0.6; stroke-dasharray: 2 2; vector-effect: non-scaling-stroke; }
.spark polyline { fill: none; stroke: #1f2328; stroke-width: 1.4; vector-effect: non-scaling-stroke; }
.text { white-space: pre-wrap; word-break: break-word; font: 14px/1.9 ui-monospace, "SFMono-Regular", Menlo,
        Consolas, monospace; }
.tok { border-radius: 2px; padding: 1px 0; cursor: help; }
.tok.end { box-shadow: inset -2px 0 0 #1f2328; }
.tok:hover { outline: 2px solid #1f2328; }
details { margin-top: 6px; font-size: 11px; }
summary { cursor: pointer; color: var(--muted); }
table.steps { border-collapse: collapse; margin-top: 4px; width: 100%; font-variant-numeric: tabular-nums; }
table.steps th, table.steps td { text-align: right; padding: 1px 3px; border-bottom: 1px solid var(--soft); }
table.steps th:nth-child(2), table.steps td:nth-child(2) { text-align: left; font-family: ui-monospace, monospace;
    max-width: 7em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
table.steps tr.low td { color: #b2182b; font-weight: 600; }
.info { position: fixed; left: 0; right: 0; bottom: 0; padding: 6px 24px; background: #1f2328; color: #fff;
        font: 13px/1.4 ui-monospace, monospace; }
"""

SCRIPT = """
(function () {
  var tokens = document.querySelectorAll('.tok');
  var info = document.getElementById('info');
  var ticks = document.querySelector('.ticks');
  function paint(mode) {
    var bg = mode === 'change' ? 'cc' : 'cv', fg = mode === 'change' ? 'tc' : 'tv';
    tokens.forEach(function (t) { t.style.background = t.dataset[bg]; t.style.color = t.dataset[fg]; });
    var limit = Number(ticks.dataset[mode]);
    document.getElementById('tick-low').textContent = '\\u2212' + limit.toPrecision(3);
    document.getElementById('tick-high').textContent = '+' + limit.toPrecision(3);
  }
  document.querySelectorAll('input[name=colour]').forEach(function (radio) {
    radio.addEventListener('change', function () { paint(radio.value); });
  });
  function sign(x) { return (x >= 0 ? '+' : '\\u2212') + Math.abs(x).toFixed(3); }
  tokens.forEach(function (t) {
    t.addEventListener('mouseenter', function () {
      var d = JSON.parse(t.dataset.info);
      info.textContent = 'token ' + d.position + ' ' + JSON.stringify(d.token) + ' (step ' + d.step + ')' +
        '   value so far ' + sign(d.value) + '   this token ' + sign(d.change) +
        '   log \\u03c0\\u03b8 ' + d.logp_policy.toFixed(3) + '   log \\u03c0ref ' + d.logp_reference.toFixed(3);
    });
  });
})();
"""
