"""Looking inside a trace interactively, and at what each hidden unit does over time.

    with ts.trace() as tr:
        loss = model.loss(*model(source, target))
    loss.backward()
    tr.to_html("bptt.html")            # the explorer: one file, opens from disk, no network

The explorer shows exactly the picture of ``tr.render``: the laid-out Drawing
(``tinyseq.render.drawing``) written as SVG, each SVG element found by its Drawing id. Hovering
a node shows its op, shapes, module, time step and gradient norm; clicking a shared parameter
shows its per-step contributions (dL/dW = sum over t of the share of step t) as bars on the
picture's log scale and colours, lights its edges and scrolls the first into view; clicking a
step box lists that box's ops (one row, one direction); a slider and a play button walk the
backward pass from the loss back through time, colouring each step box the gradient has
reached by the norm of the gradient that reached it (what the box hands on), so a vanishing
gradient is a fading wave. A row runs backward against its own state: the slider at t lights
the boxes of steps t' >= t of a forward row and, of a reverse row (a bidirectional layer's
backward direction, whose state flows from the last step to the first), the boxes whose
mirror t_first + t_last - t' is >= t. The page carries its numbers as JSON in
``<script id="tinyseq-data" type="application/json">``, so a program can read them too; every
name in it goes through ``tinyseq.escape``.

The neuron views need a trace recorded with ``ts.trace(values=True)``:
``plot_activations`` draws units x time as a heat map, ``text_heatmap`` colours each character
of a text by one unit's activation (the "interpretable cells" of the lecture), and
``find_units`` ranks units by their correlation with a per-character feature, such as
``inside_string_literal(text)`` or ``indentation_depth(text)``.
"""
import colorsys
import math
import os
import shutil

import numpy

from . import escape
from .serialization import write_atomically


# --- the explorer -------------------------------------------------------------------------------
def to_html(trace, path=None, title="tinyseq: backpropagation through time", **options):
    """The explorer of ``trace`` as one self-contained HTML page (inline CSS and JavaScript,
    no network, works from file://). Writes it to ``path`` and returns the path, or returns
    the HTML text when ``path`` is None. ``options`` go to ``render.to_dot``: the page shows
    exactly the picture ``tr.render`` draws with them (gradient colours on by default, long
    rows elided to their first and last steps as there). Needs Graphviz. Call it after
    ``backward()`` to see gradients; before, the page shows the forward graph only."""
    from .render import dot as dot_writer
    if not trace.ops:
        raise ValueError("to_html: the trace recorded no ops (run the model inside "
                         "`with ts.trace() as tr:`)")
    if path is not None:
        path = os.fspath(path)
        if not path.lower().endswith((".html", ".htm")):
            raise ValueError(f"to_html: the path must end in .html or .htm, got {path!r}")
    if shutil.which(dot_writer.ENGINE[0]) is None:
        raise RuntimeError("to_html: Graphviz's neato program is missing; install it with "
                           "`apt-get install graphviz` (or `make dot`)")
    if "rolled" in options:
        raise ValueError("to_html: the explorer shows the unrolled graph; rolled= is for "
                         "tr.render")
    laid = _laid(trace, options)
    svg = _svg(dot_writer.to_dot_text(laid), len(laid.nodes))
    data = _page_data(trace, laid)
    data["title"] = title
    page = _PAGE.format(title=escape.html_text(title), svg=svg, data=escape.json_for_script(data),
                        css=_CSS, js=_JS)
    if path is None:
        return page
    write_atomically(path, lambda f: f.write(page.encode("utf-8")))
    return path


def notebook_svg(trace):
    """The SVG Jupyter shows for a trace: its graph as ``tr.render`` draws it, with gradient
    colours once a backward pass has reached it; None (Jupyter then prints the repr) for an
    empty trace or without Graphviz."""
    from .render import dot as dot_writer
    if not trace.ops or shutil.which(dot_writer.ENGINE[0]) is None:
        return None
    reached = any(record.grad_norm is not None for record in trace.ops)
    return _svg(trace.to_dot(grads=reached), None)


def explorer_data(trace, **options):
    """The numbers the explorer shows for ``trace``, as JSON-ready lists and dicts: the ops,
    the leaves, each parameter's per-step contribution norms (and their colours on the
    picture's scale), the gradient norm reaching each step box, and the nodes, step boxes,
    rows and parameter edges of the picture ``options`` draw (as ``to_html``'s), by the ids of
    the SVG's elements."""
    if not trace.ops:
        raise ValueError("explorer_data: the trace recorded no ops (run the model inside "
                         "`with ts.trace() as tr:`)")
    return _page_data(trace, _laid(trace, options))


def _laid(trace, options):
    """The laid-out picture of ``trace`` that the explorer shows: ``tr.render``'s, with
    gradient colours once a backward pass has reached the trace."""
    from .render.graph import drawing
    return drawing(trace, **{"grads": any(r.grad_norm is not None for r in trace.ops),
                             **options})


def _page_data(trace, laid):
    """explorer_data for the laid-out Drawing ``laid``."""
    order = trace.leaf_order
    ops = [{"index": r.index, "kind": r.kind, "t": r.time_step, "module": r.module_path,
            "scope": r.scope, "shape": list(r.shape), "grad_norm": _finite(r.grad_norm),
            "inputs": [[kind, order[source] if kind in ("param", "data") else source]
                       for kind, source in r.inputs]}
           for r in trace.ops]
    leaves = [{"id": order[leaf.key], "name": leaf.name, "shape": list(leaf.shape),
               "is_param": leaf.is_param} for leaf in trace.leaves.values()]
    scales = [(line.low, line.high) for line in (laid.legend.lines if laid.legend else ())
              if line.low is not None]
    share_range = scales[0] if scales else None         # the picture's taps and bars
    parameters = []
    for leaf in trace.parameters():
        entry = {"id": order[leaf.key], "name": leaf.name, "shape": list(leaf.shape),
                 "contributions": [], "grad_norm": None}
        if trace.has_contributions(leaf.tensor):
            contributions = trace.contributions(leaf.tensor)
            norms = [(t, float(numpy.sqrt(numpy.vdot(g, g)))) for t, g in contributions]
            entry["contributions"] = [[t, _finite(norm), _colour(norm, share_range)]
                                      for t, norm in norms]
            entry["grad_norm"] = _finite(numpy.linalg.norm(sum(g for _, g in contributions)))
        parameters.append(entry)
    states = trace.state_grad_norms()
    rows = {row.id: row for row in laid.rows}
    nodes = {node.id: {"kind": node.kind, "t": node.time_step, "ops": list(node.ops),
                       "box": node.box, "row": node.row,
                       "leaf": node.leaves[0] if node.leaves else None}
             for node in laid.nodes.values()}
    box_ops, readers = _box_ops(trace, laid)
    steps = []
    for box in laid.steps:
        row = rows[box.row]
        steps.append({"box": box.id, "label": box.local_step, "t": box.time_step,
                      "row": row.name, "row_id": row.id, "reverse": row.reverse,
                      "ops": box_ops[box.id],
                      "grad_norm": _finite(_box_norm(trace, box_ops[box.id], readers))})
    param_edges = {}
    in_time_order = sorted(laid.edges, key=lambda e: (laid.nodes[e.head].time_step is None,
                                                      laid.nodes[e.head].time_step or 0))
    for edge in in_time_order:
        tail = laid.nodes[edge.tail]
        if tail.kind == "param" and tail.leaves:
            param_edges.setdefault(tail.leaves[0], []).append(edge.id)
        elif edge.tail_port.startswith("p") and edge.tail_port[1:].isdigit():
            param_edges.setdefault(int(edge.tail_port[1:]), []).append(edge.id)
    return {"format": "tinyseq-explorer/2",
            "time_steps": trace.time_steps,
            "ops": ops, "leaves": leaves, "parameters": parameters,
            "state_grad_norms": [[t, _finite(v)] for t, v in states.items()],
            "share_range": list(share_range) if share_range else None,
            "nodes": nodes, "steps": steps, "param_edges": param_edges,
            "edges": {edge.id: {"kind": edge.kind, "tail": edge.tail, "head": edge.head,
                                "t": edge.time_step} for edge in laid.edges},
            "rows": [{"id": row.id, "name": row.name, "reverse": row.reverse,
                      "steps": list(row.steps), "elided": list(row.elided)} for row in laid.rows],
            "module_kinds": dict(trace.module_kinds)}


def _box_ops(trace, laid):
    """{step box id: its ops}: the ops the box draws, and the plumbing ops of its step that
    the picture leaves out (x[t], a gate's slice) joined to the one box they read from or
    feed."""
    readers = {}
    for record in trace.ops:
        for kind, source in record.inputs:
            if kind == "op":
                readers.setdefault(source, []).append(record.index)
    box_of = {i: box.id for box in laid.steps for i in box.ops}
    step_of = {box.id: box.time_step for box in laid.steps}
    drawn_steps = set(step_of.values())        # the steps of an elided box have no step card
    for _ in range(2):                         # a chain of two plumbing ops joins too
        for record in trace.ops:
            if record.index in box_of or record.time_step not in drawn_steps:
                continue
            near = {box_of.get(source) for kind, source in record.inputs if kind == "op"}
            near |= {box_of.get(reader) for reader in readers.get(record.index, ())}
            near = {b for b in near if b is not None and step_of[b] == record.time_step}
            if len(near) == 1:
                box_of[record.index] = near.pop()
    ops = {box.id: [] for box in laid.steps}
    for index in sorted(box_of):
        ops[box_of[index]].append(index)
    return ops, readers


def _box_norm(trace, ops, readers):
    """||dL/d(what the box hands on)||: the gradient norms of the box's ops that an op outside
    the box reads (its state for the next step, its output), each once; for a one-row model
    ``Trace.state_grad_norms()[t]``."""
    inside = set(ops)
    squares = [trace.ops[i].grad_norm ** 2 for i in ops if trace.ops[i].grad_norm is not None
               and any(reader not in inside for reader in readers.get(i, ()))]
    return math.sqrt(sum(squares)) if squares else None


def _colour(value, scale):
    """The picture's heat colour of ``value`` (a log scale over ``scale``) as #rrggbb."""
    from .render.plan import heat
    if scale is None or not value > 0:
        return None
    hue, saturation, brightness = (float(v) for v in heat(value, *scale)[0].split())
    red, green, blue = colorsys.hsv_to_rgb(hue, saturation, brightness)
    return "#%02x%02x%02x" % (round(red * 255), round(green * 255), round(blue * 255))


def _svg(source, nodes):
    """SVG of the pinned-position DOT ``source``; an error that says what to do when Graphviz
    fails."""
    from .render import dot as dot_writer
    try:
        svg = dot_writer.run_graphviz(source, "svg").decode("utf-8")
    except (RuntimeError, OSError) as error:
        size = f" on a picture of {nodes} nodes" if nodes else ""
        raise RuntimeError(f"to_html: Graphviz failed{size} ({error}); draw fewer steps with "
                           f"to_html(path, first_last=5) or fewer nodes with max_nodes=200, or "
                           f"check that `neato -V` runs") from error
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
#play { width: 88px; }
#backward-label { width: 430px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
                  font-variant-numeric: tabular-nums; }
#controls { flex-wrap: nowrap; overflow-x: auto; }
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
  // every element of the picture by its Drawing id (Graphviz writes it as the element's id)
  svg.querySelectorAll("g.node").forEach(function (g) { nodeEls[g.id] = g; });
  svg.querySelectorAll("g.edge").forEach(function (g) { edgeEls[g.id] = g; });
  svg.querySelectorAll("g.cluster").forEach(function (g) { boxEls[g.id] = g; });
  var stepOf = {};
  data.steps.forEach(function (s) { stepOf[s.box] = s; });
  var rowOf = {};
  data.rows.forEach(function (r) { rowOf[r.id] = r; });
  var paramOf = {};
  data.parameters.forEach(function (p) { paramOf[p.id] = p; });
  var leafOf = {};
  data.leaves.forEach(function (l) { leafOf[l.id] = l; });
  var paramNode = {};
  Object.keys(data.nodes).forEach(function (id) {
    var n = data.nodes[id];
    if (n.kind === "param" && n.leaf !== null) paramNode[n.leaf] = id;
  });

  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
                    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  function fmt(v) { return v === null || v === undefined ? "–" : Number(v).toPrecision(4); }
  function shape(s) { return "(" + s.join(", ") + ")"; }

  // one log scale for what the step boxes hand on (blue small, red large); a box's norm counts
  // its outputs to the losses too, so it has its own range, not the state arrows'
  var norms = [];
  data.steps.forEach(function (s) { if (s.grad_norm > 0) norms.push(s.grad_norm); });
  var low = norms.length ? Math.min.apply(null, norms) : 1;
  var high = norms.length ? Math.max.apply(null, norms) : 1;
  document.getElementById("scale-low").textContent = fmt(low);
  document.getElementById("scale-high").textContent = fmt(high);
  function heat(v, lo, hi) {
    lo = lo === undefined ? low : lo; hi = hi === undefined ? high : hi;
    var level = (hi > lo && v > 0) ? (Math.log(Math.max(v, lo)) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : 1;
    level = Math.min(1, Math.max(0, level));
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
    // every module the node's ops ran in (a decoder step: its cell, embedding, attention, ...)
    var modules = [];
    ops.forEach(function (o) { if (modules.indexOf(o.module) < 0) modules.push(o.module); });
    var module = modules.map(function (m) {
      return (m || "(top level)") + (data.module_kinds[m] ? " (" + data.module_kinds[m] + ")" : "");
    }).join(", ");
    var box = node.box && stepOf[node.box];
    var norm = ops.length === 1 || !box ? last.grad_norm : box.grad_norm;
    return "<b>op</b> " + esc(opText) +
           "<br><b>shapes</b> " + esc(inputs.join(", ")) + " → " + shape(last.shape) +
           "<br><b>module" + (modules.length > 1 ? "s" : "") + "</b> " + esc(module) +
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
    var text = g ? describe(g.id) : null;
    if (!text) { tooltip.style.display = "none"; return; }
    g.classList.add("hovered");
    tooltip.innerHTML = text;
    tooltip.dataset.node = g.id;
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
    selected = nodeEls[paramNode[id]] || null;
    if (selected) selected.classList.add("selected");
    var mine = {}, lit = data.param_edges[id] || [];
    lit.forEach(function (k) { mine[k] = true; });
    Object.keys(edgeEls).forEach(function (k) {
      edgeEls[k].classList.add(mine[k] ? "highlight" : "dim");
    });
    var firstLit = lit.length ? edgeEls[lit[0]] : null;      // the earliest step's edge
    if (firstLit) firstLit.scrollIntoView({block: "nearest", inline: "center"});
    showParam(p);
  }
  function showParam(p) {
    var c = p.contributions, w = 310, h = 150, pad = 26;
    var html = "<h2>" + esc(p.name) + " " + shape(p.shape) + "</h2>";
    html += "<p>A shared weight gets one gradient term per step that uses it: " +
            "dL/dW = Σ<sub>t</sub> dL/dW|<sub>t</sub>. Bars: ‖dL/dW|<sub>t</sub>‖.</p>";
    if (!c.length) { side.innerHTML = html + "<p><i>No gradient yet: call backward() before to_html.</i></p>"; return; }
    // heights and colours on the picture's log scale of a step's share (its taps and bars)
    var positive = c.map(function (x) { return x[1] || 0; }).filter(function (v) { return v > 0; });
    var scale = data.share_range || [positive.length ? Math.min.apply(null, positive) : 1,
                                     positive.length ? Math.max.apply(null, positive) : 1];
    var min = scale[0], max = scale[1];
    var bw = (w - pad) / c.length;
    function level(v) {
      if (!(v > 0)) return 0;
      if (!(max > min)) return 1;
      return Math.min(1, Math.max(0, (Math.log(v) - Math.log(min)) / (Math.log(max) - Math.log(min))));
    }
    var bars = c.map(function (x, i) {
      var v = x[1] || 0, bh = v > 0 ? 2 + (h - 22) * level(v) : 0;
      return '<rect class="bar" data-t="' + (x[0] === null ? "" : x[0]) + '" data-value="' + v +
             '" x="' + (pad + i * bw + bw * 0.1) + '" y="' + (h - 14 - bh) + '" width="' + Math.max(1, bw * 0.8) +
             '" height="' + bh + '" fill="' + esc(x[2] || heat(v, min, max)) + '"><title>t = ' + (x[0] === null ? "none" : x[0]) +
             ": " + fmt(v) + "</title></rect>";
    }).join("");
    var ticks = c.map(function (x, i) {
      var every = Math.ceil(c.length / 12);
      return (i % every) ? "" : '<text x="' + (pad + (i + 0.5) * bw) + '" y="' + (h - 2) +
             '" font-size="9" text-anchor="middle">' + (x[0] === null ? "–" : x[0]) + "</text>";
    }).join("");
    html += '<svg class="chart" width="' + w + '" height="' + h + '"><text x="2" y="10" font-size="9">' +
            fmt(max) + ' (log scale from ' + fmt(min) + ')</text><line x1="' + pad + '" x2="' + w + '" y1="' + (h - 14) + '" y2="' + (h - 14) +
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
    var items = step.ops.map(function (i) {     // this box's ops: its row, its direction
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
    card.innerHTML = '<div class="card-title"><span>' + (step.row ? esc(step.row) + " " : "") + "t = " + esc(step.label) + ": " + step.ops.length +
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
      var node = data.nodes[g.id];
      if (node && node.kind === "param") { selectParam(node.leaf); return; }
      if (node && node.box) { toggleStep(node.box); return; }
      return;
    }
    var c = e.target.closest("g.cluster");
    if (c && stepOf[c.id]) toggleStep(c.id);
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
  // where a box stands in the backward wave: a forward row's gradient runs t = last .. first,
  // a reverse row's (its state flows from the last step to the first) t = first .. last
  function wave(s) {
    var row = rowOf[s.row_id];
    if (!s.reverse || !row || !row.steps.length) return s.t;
    return row.steps[0] + row.steps[row.steps.length - 1] - s.t;
  }
  function showBackward(value) {
    value = Number(value);
    data.steps.forEach(function (s) {
      var g = boxEls[s.box]; if (!g) return;
      var shape = g.querySelector("path, polygon"), norm = s.grad_norm;
      var reached = s.t !== null && wave(s) >= value && norm !== undefined && norm !== null;
      g.classList.toggle("reached", reached);
      g.dataset.gradNorm = reached ? norm : "";
      if (shape) shape.setAttribute("fill", reached ? heat(norm) : original[s.box]);
    });
    var current = data.steps.filter(function (s) { return s.t === value && !s.reverse; })[0] ||
                  data.steps.filter(function (s) { return wave(s) === value; })[0];
    if (current && boxEls[current.box] && timer) {
      var r = boxEls[current.box].getBoundingClientRect(), base = graph.getBoundingClientRect();
      if (r.left < base.left || r.right > base.right) graph.scrollLeft += r.left - base.left - graph.clientWidth / 2;
    }
    var name = current ? (current.row ? current.row + " " : "") + "t = " + current.label : "t = " + value;
    label.textContent = value > last ? "backward pass: at the loss (drag left, or ▶)" :
      !current ? "backward pass has reached t = " + value + " (left out of the picture: ⋯)" :
      "backward pass has reached " + name + ": ‖dL/dh‖ = " + fmt(current.grad_norm);
    label.dataset.t = value > last ? "" : value;
    label.title = label.textContent;
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
        axis.set_xticks(range(steps), [escape.plot_text(repr(ch)[1:-1]) for ch in text], fontsize=7,
                        fontfamily="monospace")
    axis.set_xlabel("time step t" + (" (the character read)" if text is not None else ""))
    axis.set_ylabel("unit")
    where = escape.plot_text(module or "model") + (f" layer {layer}" if layer else "") + \
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
        shown = escape.html_text(character) if character != "\n" else "↵\n"
        spans.append(f'<span style="background:{colour}" title="{value:.4g}" '
                     f'data-value="{float(value)!r}">{shown}</span>')
    heading = escape.html_text(title or "activation per character")
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
