"""Looking inside a trace interactively, and at what each hidden unit does over time.

    with ts.trace() as tr:
        loss = model.loss(*model(source, target))
    loss.backward()
    tr.to_html("bptt.html")            # the explorer: one file, opens from disk, no network

The explorer shows the unrolled graph in the layout of ``tr.render`` (Graphviz, one box per
time step, shared weights drawn once). Hovering a node shows its op, shapes, module, time step
and gradient norm; clicking a shared parameter shows its per-step contributions (dL/dW = sum
over t of the share of step t) as a bar chart and highlights its edges; clicking a step box
lists that step's ops; a slider and a play button walk the backward pass from the loss back
through time, colouring each step the gradient has reached by the norm of the gradient that
reached it, so a vanishing gradient is a fading wave. The slider walks the time steps from the
last to the first: at t it colours every box of steps t' >= t by ||dL/dh_t'|| (the gradient
reaching what step t' hands on, summed over the rows that share step t'; the reverse row of a
bidirectional layer is walked in the same order, although its gradient runs the other way). The page carries its numbers as JSON in
``<script id="tinyseq-data" type="application/json">``, so a program can read them too.

The neuron views need a trace recorded with ``ts.trace(values=True)``:
``plot_activations`` draws units x time as a heat map, ``text_heatmap`` colours each character
of a text by one unit's activation (the "interpretable cells" of the lecture), and
``find_units`` ranks units by their correlation with a per-character feature, such as
``inside_string_literal(text)`` or ``indentation_depth(text)``.
"""
import html
import json
import math
import os
import re
import shutil
import subprocess

import numpy

from .serialization import write_atomically

_NODE = re.compile(r"^\s*([A-Za-z_]\w*)\s*\[")
_EDGE = re.compile(r"^\s*([A-Za-z_]\w*(?::\w+)?)\s*->\s*([A-Za-z_]\w*(?::\w+)?)\s*(\[|;)")
_SUBGRAPH = re.compile(r"^\s*subgraph\s+(\w+)\s*\{")
_STEP_LABEL = re.compile(r'label="t = (\d+)"')
_LABEL = re.compile(r'^\s*label="([^"]*)"')
_GROUP_NODE = re.compile(r"^r(\d+)t(\d+)m(\d+)$")
_TIMED_NODE = re.compile(r"^(?:tap\d+|x\d+r\d+|f\w+r\d+)t(\d+)$")
_PARAM_EDGE = re.compile(r"^(?:tap\w+:)?p(\d+)$")   # p3 -> ..., or a tap's cell tap0t2:p3 -> ...


# --- the explorer -------------------------------------------------------------------------------
def to_html(trace, path=None, title="tinyseq: backpropagation through time", **options):
    """The explorer of ``trace`` as one self-contained HTML page (inline CSS and JavaScript,
    no network, works from file://). Writes it to ``path`` and returns the path, or returns
    the HTML text when ``path`` is None. ``options`` go to ``render.to_dot`` (the explorer
    draws every step and groups each module's ops of a step into one node unless told
    otherwise; the static gradient colours only up to 24 steps). Needs Graphviz's ``dot`` program. Call it after ``backward()`` to see
    gradients; before, the page shows the forward graph only."""
    if not trace.ops:
        raise ValueError("to_html: the trace recorded no ops (run the model inside "
                         "`with ts.trace() as tr:`)")
    if path is not None:
        path = os.fspath(path)
        if not path.lower().endswith((".html", ".htm")):
            raise ValueError(f"to_html: the path must end in .html or .htm, got {path!r}")
    if shutil.which("dot") is None:
        raise RuntimeError("to_html: Graphviz's dot program is missing; install it with "
                           "`apt-get install graphviz` (or `make dot`)")
    # the per-step bars of the static picture grow with the steps and would push long rows
    # apart; the explorer draws those bars itself, in its side panel
    options = {"collapse": True, "grads": trace.steps <= 24, "max_steps": None,
               "max_nodes": 100_000, **options}
    source = trace.to_dot(**options)
    svg = _svg(_unbounded(source))
    data = explorer_data(trace, source)
    data["title"] = title
    page = _PAGE.format(title=html.escape(title), svg=svg,
                        data=json.dumps(data, allow_nan=False).replace("</", "<\\/"),
                        css=_CSS, js=_JS)
    if path is None:
        return page
    write_atomically(path, lambda f: f.write(page.encode("utf-8")))
    return path


def notebook_svg(trace):
    """The SVG Jupyter shows for a trace: its graph as ``tr.render`` draws it, with gradient
    colours once a backward pass has reached it; None (Jupyter then prints the repr) for an
    empty trace or without Graphviz."""
    if not trace.ops or shutil.which("dot") is None:
        return None
    reached = any(record.grad_norm is not None for record in trace.ops)
    return _svg(trace.to_dot(grads=reached))


def explorer_data(trace, source):
    """The numbers the explorer shows, as JSON-ready lists and dicts: the ops, the leaves,
    each parameter's per-step contribution norms, the gradient norm reaching each step, and
    which drawn node and step box (of the DOT ``source``) holds which ops."""
    order = trace.leaf_order
    ops = [{"index": r.index, "kind": r.kind, "t": r.time_step, "module": r.module_path,
            "scope": r.scope, "shape": list(r.shape), "grad_norm": _finite(r.grad_norm),
            "inputs": [[kind, order[source] if kind in ("param", "data") else source]
                       for kind, source in r.inputs]}
           for r in trace.ops]
    leaves = [{"id": order[leaf.key], "name": leaf.name, "shape": list(leaf.shape),
               "is_param": leaf.is_param} for leaf in trace.leaves.values()]
    parameters = []
    for leaf in trace.parameters():
        entry = {"id": order[leaf.key], "name": leaf.name, "shape": list(leaf.shape),
                 "contributions": [], "grad_norm": None}
        if trace.has_contributions(leaf.tensor):
            contributions = trace.contributions(leaf.tensor)
            entry["contributions"] = [[t, _finite(numpy.linalg.norm(g))] for t, g in contributions]
            entry["grad_norm"] = _finite(numpy.linalg.norm(sum(g for _, g in contributions)))
        parameters.append(entry)
    states = trace.state_grad_norms()
    nodes, steps, edges = _drawing(trace, source)
    return {"format": "tinyseq-explorer/1",
            "time_steps": trace.time_steps,
            "ops": ops, "leaves": leaves, "parameters": parameters,
            "state_grad_norms": [[t, _finite(v)] for t, v in states.items()],
            "nodes": nodes, "steps": steps, "param_edges": edges,
            "module_kinds": dict(trace.module_kinds)}


def _drawing(trace, source):
    """Read the DOT text: which step box (cluster) each node is drawn in, which ops each node
    stands for, and which edges carry each parameter into the steps."""
    by_step = {}
    for record in trace.ops:
        if record.time_step is not None:
            by_step.setdefault(record.time_step, []).append(record)
    module_number = {}
    for record in trace.ops:
        if record.time_step is not None:
            module_number.setdefault(record.module_path, len(module_number))
    clusters, stack, labels, names, rows = {}, [], {}, {}, {}
    nodes, edges = {}, {}
    for line in source.splitlines():
        opened = _SUBGRAPH.match(line)
        if opened:
            stack.append(opened.group(1))
            clusters.setdefault(opened.group(1), [])
            continue
        if line.strip() == "}" and stack:
            stack.pop()
            continue
        if stack and stack[-1] not in labels and stack[-1] not in names:
            found = _STEP_LABEL.search(line)
            if found and "_t" in stack[-1]:
                labels[stack[-1]] = int(found.group(1))
                rows[stack[-1]] = next((names[c] for c in reversed(stack[:-1]) if c in names), "")
            elif _LABEL.search(line):
                names[stack[-1]] = _LABEL.search(line).group(1)
        edge = _EDGE.match(line)
        if edge:
            origin = _PARAM_EDGE.match(edge.group(1))
            if origin is not None and "style=invis" not in line:
                edges.setdefault(origin.group(1), []).append(f"{edge.group(1)}->{edge.group(2)}")
            continue
        node = _NODE.match(line)
        if node is None or node.group(1) in ("node", "edge", "graph"):
            continue
        name = node.group(1)
        entry = _node_entry(trace, name, by_step, module_number)
        box = next((c for c in reversed(stack) if c in labels), None)
        if box is not None:
            entry["box"] = box
        nodes[name] = entry
    steps = []
    for cluster, local in labels.items():
        times = {nodes[n]["t"] for n in nodes if nodes[n].get("box") == cluster
                 and nodes[n].get("t") is not None}
        t = min(times) if times else None
        steps.append({"box": cluster, "label": local, "row": rows[cluster], "t": t,
                      "ops": sorted({i for n in nodes if nodes[n].get("box") == cluster
                                     for i in nodes[n]["ops"]})})
    return nodes, steps, {int(k): v for k, v in edges.items()}


def _node_entry(trace, name, by_step, module_number):
    """What the drawn node ``name`` stands for: its kind, time step and op indices."""
    if name.startswith("op") and name[2:].isdigit():
        record = trace.ops[int(name[2:])]
        return {"kind": "op", "t": record.time_step, "ops": [record.index]}
    group = _GROUP_NODE.match(name)
    if group:
        t, number = int(group.group(2)), int(group.group(3))
        ops = [r.index for r in by_step.get(t, []) if module_number[r.module_path] == number]
        return {"kind": "group", "t": t, "ops": ops}
    if name[0] in "pd" and name[1:].isdigit():
        return {"kind": "param" if name[0] == "p" else "data", "leaf": int(name[1:]), "t": None,
                "ops": []}
    timed = _TIMED_NODE.match(name)
    if timed:
        return {"kind": "tap" if name.startswith("tap") else "stub", "t": int(timed.group(1)),
                "ops": []}
    return {"kind": "other", "t": None, "ops": []}


def _unbounded(source):
    """The DOT text without its size limit: the explorer zooms, so nothing is scaled down."""
    return re.sub(r'\bsize="[^"]*";\s*', "", source, count=1)


def _svg(source):
    result = subprocess.run(["dot", "-Tsvg"], input=source.encode("utf-8"), capture_output=True,
                            timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"to_html: dot failed: {result.stderr.decode(errors='replace')[:500]}")
    svg = result.stdout.decode("utf-8")
    return svg[svg.index("<svg"):]          # no XML prolog or DOCTYPE inside HTML


def _finite(value):
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


_CSS = """
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 Helvetica, Arial, sans-serif; color: #222; background: #fafafa; }
header { padding: 8px 14px; background: #23395b; color: white; display: flex; align-items: center;
         gap: 16px; flex-wrap: wrap; }
header h1 { font-size: 16px; margin: 0; font-weight: 600; }
header .hint { font-size: 12px; opacity: 0.85; }
#controls { display: flex; align-items: center; gap: 10px; padding: 8px 14px; background: white;
            border-bottom: 1px solid #ddd; flex-wrap: wrap; }
#controls button { font-size: 13px; padding: 3px 10px; border: 1px solid #999; border-radius: 4px;
                   background: #f4f4f4; cursor: pointer; }
#controls button:hover { background: #e6eefc; }
#backward { width: 340px; }
#backward-label { min-width: 300px; font-variant-numeric: tabular-nums; }
#scale { display: inline-flex; align-items: center; gap: 4px; font-size: 12px; color: #555; }
#scale span.bar { width: 110px; height: 10px; border-radius: 2px;
  background: linear-gradient(to right, hsl(240,85%,82%), hsl(180,85%,80%), hsl(120,85%,78%),
                                         hsl(60,85%,76%), hsl(0,85%,74%)); }
main { display: flex; height: calc(100vh - 96px); min-height: 300px; }
#graph { flex: 1; overflow: auto; position: relative; background: white; }
#graph svg { display: block; }
#side { width: 340px; border-left: 1px solid #ddd; overflow-y: auto; padding: 10px 12px;
        background: #fdfdfd; }
#side h2 { font-size: 14px; margin: 4px 0 8px; }
#side p { margin: 4px 0; font-size: 12.5px; }
#side table { border-collapse: collapse; font-size: 12px; width: 100%; }
#side td, #side th { padding: 1px 4px; text-align: right; border-bottom: 1px solid #eee; }
#side th { color: #666; font-weight: normal; }
#tooltip { position: fixed; pointer-events: none; background: rgba(25,30,40,0.93); color: white;
           padding: 6px 9px; border-radius: 5px; font-size: 12px; max-width: 380px;
           display: none; z-index: 10; line-height: 1.45; }
#tooltip b { color: #ffd479; }
.card { position: absolute; background: white; border: 1px solid #6a8caf; border-radius: 6px;
        box-shadow: 0 3px 10px rgba(0,0,0,0.2); font-size: 11.5px; z-index: 5; max-height: 320px;
        overflow-y: auto; min-width: 220px; }
.card .card-title { background: #6a8caf; color: white; padding: 3px 8px; font-weight: 600;
                    display: flex; justify-content: space-between; cursor: pointer; position: sticky; top: 0; }
.card ol { margin: 0; padding: 4px 8px 6px 30px; }
.card li { padding: 1px 0; white-space: nowrap; }
.card li:hover { background: #eef4ff; }
.card .shape { color: #777; }
.card .norm { color: #b03a2e; }
g.node { cursor: pointer; }
g.cluster { cursor: pointer; }
g.node.hovered > polygon, g.node.hovered > path, g.node.hovered > ellipse { stroke: #e67e22; stroke-width: 3; }
g.node.selected > polygon, g.node.selected > path { stroke: #d35400; stroke-width: 4; }
g.edge.highlight > path { stroke: #d35400 !important; stroke-width: 4 !important; }
g.edge.highlight > polygon { fill: #d35400 !important; stroke: #d35400 !important; }
g.edge.dim { opacity: 0.25; }
g.cluster.expanded > path, g.cluster.expanded > polygon { stroke: #23395b; stroke-width: 3; }
svg.chart rect.bar:hover { stroke: #222; stroke-width: 1; }
"""

_JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("tinyseq-data").textContent);
  var graph = document.getElementById("graph");
  var svg = graph.querySelector("svg");
  var tooltip = document.getElementById("tooltip");
  var side = document.getElementById("side-content");
  var nodeEls = {}, edgeEls = {}, boxEls = {};
  svg.querySelectorAll("g.node").forEach(function (g) { nodeEls[title(g)] = g; });
  svg.querySelectorAll("g.edge").forEach(function (g) { edgeEls[title(g)] = g; });
  svg.querySelectorAll("g.cluster").forEach(function (g) { boxEls[title(g)] = g; });
  var stepOf = {};
  data.steps.forEach(function (s) { stepOf[s.box] = s; });
  var stateNorm = {};
  data.state_grad_norms.forEach(function (p) { stateNorm[p[0]] = p[1]; });
  var paramOf = {};
  data.parameters.forEach(function (p) { paramOf[p.id] = p; });
  var leafOf = {};
  data.leaves.forEach(function (l) { leafOf[l.id] = l; });

  function title(g) { var t = g.querySelector("title"); return t ? t.textContent : ""; }
  function esc(s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); }
  function fmt(v) { return v === null || v === undefined ? "–" : Number(v).toPrecision(4); }
  function shape(s) { return "(" + s.join(", ") + ")"; }

  // one log scale for every gradient norm on the page: blue small, red large
  var norms = [];
  data.state_grad_norms.forEach(function (p) { if (p[1] > 0) norms.push(p[1]); });
  var low = norms.length ? Math.min.apply(null, norms) : 1, high = norms.length ? Math.max.apply(null, norms) : 1;
  document.getElementById("scale-low").textContent = fmt(low);
  document.getElementById("scale-high").textContent = fmt(high);
  function heat(v, lo, hi) {
    lo = lo === undefined ? low : lo; hi = hi === undefined ? high : hi;
    var level = (hi > lo && v > 0) ? (Math.log(Math.max(v, lo)) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : 1;
    return "hsl(" + Math.round(240 * (1 - level)) + ", 85%, " + Math.round(82 - 8 * level) + "%)";
  }

  // --- hover: what a node is -----------------------------------------------------------------
  function describe(name) {
    var node = data.nodes[name];
    if (!node) return null;
    if (node.kind === "param" || node.kind === "data") {
      var leaf = leafOf[node.leaf], text = "<b>" + esc(leaf.name) + "</b> " + shape(leaf.shape);
      if (leaf.is_param) {
        var p = paramOf[node.leaf];
        var steps = p.contributions.filter(function (c) { return c[0] !== null; }).length;
        text += "<br>shared parameter, read by " + steps + " time step(s)" +
                "<br>‖dL/dW‖ = " + fmt(p.grad_norm) + "<br><i>click: its per-step shares</i>";
      } else text += "<br>data (no gradient kept)";
      return text;
    }
    if (!node.ops.length) {
      return node.t === null ? null : "time step <b>t = " + node.t + "</b>" +
             (node.kind === "tap" ? "<br>the shared weights this step reads" : "");
    }
    var ops = node.ops.map(function (i) { return data.ops[i]; });
    var last = ops[ops.length - 1];
    var kinds = {};
    ops.forEach(function (o) { kinds[o.kind] = (kinds[o.kind] || 0) + 1; });
    var opText = Object.keys(kinds).map(function (k) { return kinds[k] > 1 ? k + " ×" + kinds[k] : k; }).join(", ");
    var inputs = [];
    ops[0].inputs.forEach(function (inp) {
      if (inp[0] === "op") inputs.push(shape(data.ops[inp[1]].shape));
      else if (inp[0] !== "const") inputs.push(shape(leafOf[inp[1]].shape));
    });
    var module = last.module || "(top level)";
    if (data.module_kinds[last.module]) module += " (" + data.module_kinds[last.module] + ")";
    var norm = ops.length === 1 ? last.grad_norm : (node.t !== null && stateNorm[node.t] !== undefined ? stateNorm[node.t] : last.grad_norm);
    return "<b>op</b> " + esc(opText) +
           "<br><b>shapes</b> " + esc(inputs.join(", ")) + " → " + shape(last.shape) +
           "<br><b>module</b> " + esc(module) +
           "<br><b>time step</b> " + (node.t === null ? "none (outside the steps)" : node.t) + boxName(node) +
           "<br><b>gradient norm</b> " + fmt(norm) + (ops.length > 1 ? " (what the step hands on)" : "");
  }
  function boxName(node) {
    var step = node.box && stepOf[node.box];
    return step && step.row ? " (" + esc(step.row) + " t = " + step.label + ")" : "";
  }
  var hovered = null;
  svg.addEventListener("mousemove", function (e) {
    var g = e.target.closest("g.node");
    if (hovered && hovered !== g) hovered.classList.remove("hovered");
    hovered = g;
    var text = g ? describe(title(g)) : null;
    if (!text) { tooltip.style.display = "none"; return; }
    g.classList.add("hovered");
    tooltip.innerHTML = text;
    tooltip.dataset.node = title(g);
    tooltip.style.display = "block";
    var x = e.clientX + 14, y = e.clientY + 14;
    if (x + tooltip.offsetWidth > window.innerWidth) x = e.clientX - tooltip.offsetWidth - 10;
    if (y + tooltip.offsetHeight > window.innerHeight) y = e.clientY - tooltip.offsetHeight - 10;
    tooltip.style.left = x + "px"; tooltip.style.top = y + "px";
  });
  svg.addEventListener("mouseleave", function () {
    tooltip.style.display = "none";
    if (hovered) hovered.classList.remove("hovered");
  });

  // --- click: a parameter's shares, or a step's ops -------------------------------------------
  var selected = null;
  function selectParam(id) {
    Object.keys(edgeEls).forEach(function (k) { edgeEls[k].classList.remove("highlight", "dim"); });
    if (selected) selected.classList.remove("selected");
    var p = paramOf[id];
    selected = nodeEls["p" + id] || null;
    if (selected) selected.classList.add("selected");
    var mine = {};
    (data.param_edges[id] || []).forEach(function (k) { mine[k] = true; });
    Object.keys(edgeEls).forEach(function (k) {
      edgeEls[k].classList.add(mine[k] ? "highlight" : "dim");
    });
    showParam(p);
  }
  function showParam(p) {
    var c = p.contributions, w = 310, h = 150, pad = 26;
    var html = "<h2>" + esc(p.name) + " " + shape(p.shape) + "</h2>";
    html += "<p>A shared weight gets one gradient term per step that uses it: " +
            "dL/dW = Σ<sub>t</sub> dL/dW|<sub>t</sub>. Bars: ‖dL/dW|<sub>t</sub>‖.</p>";
    if (!c.length) { side.innerHTML = html + "<p><i>No gradient yet: call backward() before to_html.</i></p>"; return; }
    var positive = c.map(function (x) { return x[1] || 0; }).filter(function (v) { return v > 0; });
    var max = positive.length ? Math.max.apply(null, positive) : 1;
    var min = positive.length ? Math.min.apply(null, positive) : 1;
    var bw = (w - pad) / c.length;
    var bars = c.map(function (x, i) {
      var v = x[1] || 0, bh = Math.max(1, (h - 20) * v / max);
      return '<rect class="bar" data-t="' + (x[0] === null ? "" : x[0]) + '" data-value="' + v +
             '" x="' + (pad + i * bw + bw * 0.1) + '" y="' + (h - 14 - bh) + '" width="' + Math.max(1, bw * 0.8) +
             '" height="' + bh + '" fill="' + heat(v, min, max) + '"><title>t = ' + (x[0] === null ? "none" : x[0]) +
             ": " + fmt(v) + "</title></rect>";
    }).join("");
    var ticks = c.map(function (x, i) {
      var every = Math.ceil(c.length / 12);
      return (i % every) ? "" : '<text x="' + (pad + (i + 0.5) * bw) + '" y="' + (h - 2) +
             '" font-size="9" text-anchor="middle">' + (x[0] === null ? "–" : x[0]) + "</text>";
    }).join("");
    html += '<svg class="chart" width="' + w + '" height="' + h + '"><text x="2" y="10" font-size="9">' +
            fmt(max) + '</text><line x1="' + pad + '" x2="' + w + '" y1="' + (h - 14) + '" y2="' + (h - 14) +
            '" stroke="#999"/>' + bars + ticks + "</svg>";
    html += "<p>‖dL/dW‖ = " + fmt(p.grad_norm) + " (the norm of the sum, not the sum of the norms)</p>";
    html += '<table id="contributions"><tr><th>t</th><th>‖dL/dW|<sub>t</sub>‖</th></tr>' + c.map(function (x) {
      return '<tr><td>' + (x[0] === null ? "outside" : x[0]) + '</td><td class="value" data-value="' + x[1] + '">' +
             (x[1] === null ? "–" : Number(x[1]).toPrecision(7)) + "</td></tr>";
    }).join("") + "</table>";
    side.innerHTML = html;
    side.dataset.param = p.name;
  }
  function toggleStep(box) {
    var step = stepOf[box], g = boxEls[box];
    var card = graph.querySelector('.card[data-box="' + box + '"]');
    if (card) { card.remove(); g.classList.remove("expanded"); return; }
    g.classList.add("expanded");
    card = document.createElement("div");
    card.className = "card";
    card.dataset.box = box;
    card.dataset.t = step.t;
    var items = step.ops.map(function (i) {
      var o = data.ops[i];
      var from = o.inputs.map(function (inp) {
        var t = inp[0] === "op" ? data.ops[inp[1]].t : null;
        if (inp[0] === "op") return (t === o.t || t === null ? "#" : "t" + t + "#") + inp[1];
        if (inp[0] === "const") return "const";
        return leafOf[inp[1]].name;
      }).join(", ");
      return '<li class="op" data-op="' + i + '" value="' + i + '" title="inputs: ' + esc(from) + '"><b>' + esc(o.kind) +
             '</b> <span class="shape">' + shape(o.shape) + '</span> <span class="norm">‖g‖ ' + fmt(o.grad_norm) +
             "</span> <span class=\"shape\">← " + esc(from) + "</span></li>";
    }).join("");
    card.innerHTML = '<div class="card-title"><span>' + (step.row ? esc(step.row) + " " : "") + "t = " + step.label + ": " + step.ops.length +
                     " ops</span><span>✕</span></div><ol>" + items + "</ol>";
    card.querySelector(".card-title").addEventListener("click", function () { toggleStep(box); });
    var r = g.getBoundingClientRect(), base = graph.getBoundingClientRect();
    card.style.left = (r.left - base.left + graph.scrollLeft) + "px";
    card.style.top = (r.bottom - base.top + graph.scrollTop + 4) + "px";
    graph.appendChild(card);
  }
  svg.addEventListener("click", function (e) {
    var g = e.target.closest("g.node");
    if (g) {
      var node = data.nodes[title(g)];
      if (node && node.kind === "param") { selectParam(node.leaf); return; }
      if (node && node.box) { toggleStep(node.box); return; }
      return;
    }
    var c = e.target.closest("g.cluster");
    if (c && stepOf[title(c)]) toggleStep(title(c));
  });

  // --- the backward pass through time ----------------------------------------------------------
  var times = data.time_steps, slider = document.getElementById("backward");
  var label = document.getElementById("backward-label");
  var first = times.length ? times[0] : 0, last = times.length ? times[times.length - 1] : 0;
  slider.min = first; slider.max = last + 1; slider.value = last + 1;
  var original = {};
  data.steps.forEach(function (s) {
    var g = boxEls[s.box]; if (!g) return;
    var shape = g.querySelector("path, polygon");
    original[s.box] = shape ? shape.getAttribute("fill") : null;
  });
  function showBackward(value) {
    value = Number(value);
    data.steps.forEach(function (s) {
      var g = boxEls[s.box]; if (!g) return;
      var shape = g.querySelector("path, polygon"), norm = stateNorm[s.t];
      var reached = s.t !== null && s.t >= value && norm !== undefined && norm !== null;
      g.classList.toggle("reached", reached);
      g.dataset.gradNorm = reached ? norm : "";
      if (shape) shape.setAttribute("fill", reached ? heat(norm) : original[s.box]);
    });
    var current = data.steps.filter(function (s) { return s.t === value; })[0];
    if (current && boxEls[current.box] && timer) {
      var r = boxEls[current.box].getBoundingClientRect(), base = graph.getBoundingClientRect();
      if (r.left < base.left || r.right > base.right) graph.scrollLeft += r.left - base.left - graph.clientWidth / 2;
    }
    var name = current ? (current.row ? current.row + " " : "") + "t = " + current.label : "t = " + value;
    label.textContent = value > last ? "backward pass: at the loss (drag left, or ▶)" :
      "backward pass has reached " + name + ": ‖dL/dh‖ = " + fmt(stateNorm[value]);
    label.dataset.t = value > last ? "" : value;
  }
  slider.addEventListener("input", function () { showBackward(slider.value); });
  var timer = null, play = document.getElementById("play");
  play.addEventListener("click", function () {
    if (timer) { clearInterval(timer); timer = null; play.textContent = "▶ play"; return; }
    if (Number(slider.value) <= first) slider.value = last + 1;
    play.textContent = "❚❚ pause";
    var delay = Math.max(30, Math.min(300, 6000 / Math.max(1, times.length)));
    timer = setInterval(function () {
      slider.value = Number(slider.value) - 1;
      showBackward(slider.value);
      if (Number(slider.value) <= first) { clearInterval(timer); timer = null; play.textContent = "▶ play"; }
    }, delay);
  });
  showBackward(slider.value);

  // --- zoom ------------------------------------------------------------------------------------
  var width = svg.width.baseVal.value, height = svg.height.baseVal.value, zoom = 1;
  function setZoom(z) {
    zoom = z; svg.setAttribute("width", width * z + "pt"); svg.setAttribute("height", height * z + "pt");
    graph.querySelectorAll(".card").forEach(function (c) { toggleStep(c.dataset.box); });
  }
  document.getElementById("zoom-in").addEventListener("click", function () { setZoom(zoom * 1.25); });
  document.getElementById("zoom-out").addEventListener("click", function () { setZoom(zoom / 1.25); });
  document.getElementById("zoom-fit").addEventListener("click", function () {
    setZoom(Math.min(1.5, graph.clientWidth / (width * 4 / 3), graph.clientHeight / (height * 4 / 3)));
  });
  if (width * 4 / 3 > graph.clientWidth * 1.02) {
    setZoom(Math.max(0.35, Math.min(1, graph.clientWidth / (width * 4 / 3))));
  }
  if (data.parameters.length) {
    side.innerHTML = "<h2>How to read this</h2><p>Each grey box is one time step; the state passes " +
      "left to right. <b>Hover</b> a node for its op, shapes, module, step and gradient norm. <b>Click</b> " +
      "a yellow shared parameter for its per-step shares of the gradient, or a step box for its ops. " +
      "<b>Drag the slider</b> (or ▶) to walk the backward pass back through time.</p>";
  }
  window.tinyseqExplorer = { data: data, selectParam: selectParam, toggleStep: toggleStep, showBackward: showBackward };
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header><h1>{title}</h1><span class="hint">hover a node · click a parameter or a step box · walk the backward pass</span></header>
<div id="controls">
  <button id="play" type="button">▶ play</button>
  <input id="backward" type="range" step="1" aria-label="backward pass: time step reached">
  <span id="backward-label"></span>
  <span id="scale">‖dL/dh_t‖ <span id="scale-low"></span><span class="bar"></span><span id="scale-high"></span> (log)</span>
  <button id="zoom-out" type="button">−</button><button id="zoom-in" type="button">+</button><button id="zoom-fit" type="button">fit</button>
</div>
<main>
<div id="graph">{svg}</div>
<aside id="side"><div id="side-content"></div></aside>
</main>
<div id="tooltip"></div>
<script type="application/json" id="tinyseq-data">{data}</script>
<script>{js}</script>
</body>
</html>
"""


# --- what each hidden unit does over time --------------------------------------------------------
_BOUNDED = {"i", "f", "o", "r", "z", "weights"}       # gates and attention weights lie in [0, 1]


def plot_activations(trace, module, quantity, units=None, layer=0, reverse=False, batch=0,
                     text=None, title=None):
    """A heat map of ``trace.activations(module, quantity, layer, reverse)`` for one sequence
    of the batch: one row per unit (``units``: a list of unit indices, default all), one
    column per time step. ``text`` (one character per step) labels the columns. Returns a
    matplotlib Figure. Needs a trace recorded with ``ts.trace(values=True)``."""
    values = _sequence(trace, module, quantity, layer, reverse, batch)
    if units is None:
        units = list(range(values.shape[1]))
    units = [int(u) for u in units]
    bad = [u for u in units if not 0 <= u < values.shape[1]]
    if bad or not units:
        raise IndexError(f"plot_activations: units {bad or units} out of range for "
                         f"{values.shape[1]} units of {module!r} {quantity!r}")
    if text is not None and len(text) != values.shape[0]:
        raise ValueError(f"plot_activations: text has {len(text)} characters for "
                         f"{values.shape[0]} time steps")
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plot_activations needs matplotlib: pip install 'tinyseq[viz]'") from None
    steps = values.shape[0]
    figure = Figure(figsize=(min(16, 3 + 0.12 * steps), min(12, 1.5 + 0.22 * len(units))),
                    constrained_layout=True)
    axis = figure.subplots()
    if quantity in _BOUNDED:
        options = {"cmap": "viridis", "vmin": 0.0, "vmax": 1.0}
    else:
        limit = float(numpy.abs(values[:, units]).max()) or 1.0
        options = {"cmap": "RdBu_r", "vmin": -limit, "vmax": limit}
    image = axis.imshow(values[:, units].T, aspect="auto", interpolation="nearest", **options)
    axis.set_yticks(range(len(units)), [str(u) for u in units] if len(units) <= 40 else None)
    if len(units) > 40:
        axis.set_yticks([])
    if text is not None and steps <= 160:
        axis.set_xticks(range(steps), [repr(ch)[1:-1] for ch in text], fontsize=7,
                        fontfamily="monospace")
    axis.set_xlabel("time step t" + (" (the character read)" if text is not None else ""))
    axis.set_ylabel("unit")
    where = f"{module or 'model'}" + (f" layer {layer}" if layer else "") + \
        (" reverse" if reverse else "")
    axis.set_title(title or f"{where}: {quantity}_t per unit over time")
    figure.colorbar(image, ax=axis, fraction=0.03)
    return figure


def text_heatmap(text, values, path=None, title=None):
    """HTML that colours each character of ``text`` by ``values`` (one number per character,
    e.g. one unit's activation): red positive, blue negative, white zero, scaled by the largest
    magnitude. Writes it to ``path`` and returns the path, or returns the HTML when ``path`` is
    None. Hovering a character shows its value."""
    values = numpy.asarray(values, dtype=numpy.float64).reshape(-1)
    if len(values) != len(text):
        raise ValueError(f"text_heatmap: {len(values)} values for {len(text)} characters")
    if not numpy.isfinite(values).all():
        raise ValueError("text_heatmap: the values must be finite")
    if path is not None:
        path = os.fspath(path)
        if not path.lower().endswith((".html", ".htm")):
            raise ValueError(f"text_heatmap: the path must end in .html or .htm, got {path!r}")
    scale = float(numpy.abs(values).max()) or 1.0
    spans = []
    for character, value in zip(text, values):
        level = value / scale
        colour = (f"rgba(214, 39, 40, {level:.3f})" if level >= 0 else
                  f"rgba(31, 119, 180, {-level:.3f})")
        shown = html.escape(character) if character != "\n" else "↵\n"
        spans.append(f'<span style="background:{colour}" title="{value:.4g}" '
                     f'data-value="{float(value)!r}">{shown}</span>')
    heading = html.escape(title or "activation per character")
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            f'style-src \'unsafe-inline\'"><title>{heading}</title><style>'
            f'body {{ font: 14px Helvetica, Arial, sans-serif; margin: 16px; }} '
            f'pre {{ font: 13px/1.45 Menlo, Consolas, monospace; white-space: pre-wrap; }} '
            f'pre span:hover {{ outline: 1px solid #333; }} .key span {{ padding: 0 6px; }}'
            f'</style></head><body><h3>{heading}</h3><p class="key">'
            f'<span style="background:rgba(31,119,180,1)">{-scale:.3g}</span>'
            f'<span>0</span><span style="background:rgba(214,39,40,1)">{scale:.3g}</span>'
            f' (hover a character for its value)</p><pre>{"".join(spans)}</pre></body></html>\n')
    if path is None:
        return page
    write_atomically(path, lambda f: f.write(page.encode("utf-8")))
    return path


def find_units(trace, module, quantity, feature, layer=0, reverse=False, batch=0):
    """The units of ``module``'s ``quantity`` ranked by how strongly they follow ``feature``:
    [(unit, r)] sorted by |r| (largest first), r the Pearson correlation over time between the
    unit's activation and the feature. ``feature`` has one number per time step of sequence
    ``batch`` (shape (T,)), or one per step of every sequence (shape (T, B)). A unit that never
    changes gets r = 0."""
    values = trace.activations(module, quantity, layer=layer, reverse=reverse)
    feature = numpy.asarray(feature, dtype=numpy.float64)
    if feature.ndim == 1:
        values = _sequence(trace, module, quantity, layer, reverse, batch)
        rows = feature
    elif feature.shape == values.shape[:2]:
        values = values.reshape(-1, values.shape[-1])
        rows = feature.reshape(-1)
    else:
        raise ValueError(f"find_units: the feature has shape {feature.shape}; expected (T,) or "
                         f"(T, B) = {values.shape[:2]} for {module!r} {quantity!r}")
    if len(rows) != len(values):
        raise ValueError(f"find_units: the feature has {len(rows)} steps, the activations "
                         f"{len(values)}")
    centred_feature = rows - rows.mean()
    if not numpy.any(centred_feature):
        raise ValueError("find_units: the feature is constant, so nothing correlates with it")
    centred = values.astype(numpy.float64) - values.mean(axis=0)
    spread = numpy.sqrt((centred ** 2).sum(axis=0)) * numpy.sqrt((centred_feature ** 2).sum())
    covariance = centred_feature @ centred
    r = numpy.divide(covariance, spread, out=numpy.zeros_like(covariance), where=spread > 0)
    order = numpy.argsort(-numpy.abs(r), kind="stable")
    return [(int(u), float(r[u])) for u in order]


def _sequence(trace, module, quantity, layer, reverse, batch):
    values = trace.activations(module, quantity, layer=layer, reverse=reverse)
    if not -values.shape[1] <= batch < values.shape[1]:
        raise IndexError(f"batch index {batch} out of range for a batch of {values.shape[1]}")
    return values[:, batch, :]


# --- per-character features of Python source -----------------------------------------------------
def inside_string_literal(text):
    """1.0 for each character of Python source inside a string literal (its quotes included),
    else 0.0; handles ' " and triple quotes, escapes and comments."""
    feature = numpy.zeros(len(text))
    i, quote = 0, None
    while i < len(text):
        if quote is None:
            if text[i] == "#":
                end = text.find("\n", i)
                i = len(text) if end < 0 else end
                continue
            if text[i] in "'\"":
                quote = text[i] * 3 if text.startswith(text[i] * 3, i) else text[i]
                feature[i:i + len(quote)] = 1.0
                i += len(quote)
                continue
            i += 1
            continue
        feature[i] = 1.0
        if text[i] == "\\":
            feature[i + 1:i + 2] = 1.0
            i += 2
        elif text.startswith(quote, i):
            feature[i:i + len(quote)] = 1.0
            i += len(quote)
            quote = None
        elif text[i] == "\n" and len(quote) == 1:      # an unclosed one-line string ends here
            feature[i] = 0.0
            quote = None
            i += 1
        else:
            i += 1
    return feature


def indentation_depth(text):
    """For each character, the indentation of its line: the number of leading spaces (a tab
    counts 4), the same for every character of the line."""
    feature = numpy.zeros(len(text))
    start = 0
    for line in text.split("\n"):
        stripped = line.lstrip(" \t")
        indent = line[:len(line) - len(stripped)]
        feature[start:start + len(line) + 1] = indent.count(" ") + 4 * indent.count("\t")
        start += len(line) + 1
    return feature


def position_in_line(text):
    """For each character, its column: 0 for the first character of a line."""
    feature = numpy.zeros(len(text))
    column = 0
    for i, character in enumerate(text):
        feature[i] = column
        column = 0 if character == "\n" else column + 1
    return feature
