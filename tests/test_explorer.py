"""The interactive explorer (tinyseq/explorer.py, ``tr.to_html``) in a real browser.

Headless Chromium from the distribution's packages (chromium, chromium-driver; ``make
browser`` installs them), driven by Selenium, started once for the module. On RNN, LSTM
(primitive ops), GRU and Seq2Seq with attention, the tests hover and click and read the DOM:
  * hovering a node shows its op, shapes, module, time step and gradient norm;
  * clicking a shared parameter shows its per-step contributions, equal to
    ``tr.contributions`` to 1e-6, and highlights exactly its edges;
  * clicking a step box lists exactly that step's ops, and clicking again collapses it;
  * the backward slider at t colours exactly the steps t' >= t, each by ||dL/dh_t'||; the play
    button walks it back to the first step;
  * the page makes no network request and names no external URL;
  * a 100-step trace writes and answers quickly.
Where Chromium cannot be started, the browser tests skip and say why.
"""
import json
import re
import shutil
import tempfile
import time

import numpy as np
import pytest

import tinyseq as ts
from tinyseq import nn
from tinyseq import functional as F

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def _rnn_trace(kind, steps, impl="fused", seed=0):
    ts.manual_seed(seed)
    layer = getattr(nn, kind)(3, 5, impl=impl)
    x, y = ts.randn(steps, 2, 3), ts.randn(2, 5)
    with ts.trace() as tr:
        output, _ = layer(x)
        loss = F.mse_loss(output[-1], y)
    loss.backward()
    return tr, layer


def _seq2seq_trace():
    ts.manual_seed(0)
    model = nn.Seq2Seq(12, 12, 8, 16, attention="dot")
    rng = np.random.default_rng(0)
    source, target = rng.integers(3, 12, (2, 5)), rng.integers(3, 12, (2, 4))
    target[:, 0] = 1
    with ts.trace() as tr:
        logits, _ = model(source, target)
        loss = model.loss(logits, target)
    loss.backward()
    return tr, model


MODELS = {"RNN": lambda: _rnn_trace("RNN", 5),
          "LSTM": lambda: _rnn_trace("LSTM", 4, impl="primitive"),
          "GRU": lambda: _rnn_trace("GRU", 6),
          "Seq2Seq": _seq2seq_trace}


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """{model name: (trace, module, path of its explorer page)}, written once."""
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed (make dot)")
    folder = tmp_path_factory.mktemp("explorer")
    built = {}
    for name, make in MODELS.items():
        tr, module = make()
        built[name] = (tr, module, tr.to_html(folder / f"{name}.html"))
    return built


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the whole module, or a skip that says why there is none."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed "
                                    "(pip install -e '.[dev]')")
    from selenium.webdriver.chrome.service import Service
    for program in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(program) is None:
            pytest.skip(f"{program} is missing: install Debian's chromium and chromium-driver "
                        f"(make browser)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="tinyseq-chromium-")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                     "--window-size=1400,900"):
        options.add_argument(argument)
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except Exception as error:          # any failure to start means: no browser here
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip(f"headless Chromium could not be started: {str(error).splitlines()[0]}")
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _open(browser, path):
    browser.get(f"file://{path}")
    browser.execute_script("return window.tinyseqExplorer.data.format")   # the script ran


def _page_data(path):
    text = open(path, encoding="utf-8").read()
    found = re.search(r'<script type="application/json" id="tinyseq-data">(.*?)</script>', text,
                      re.S)
    return text, json.loads(found.group(1))


def _by_id(browser, css, element_id):
    """The SVG element of the Drawing item ``element_id`` (Graphviz writes it as the id)."""
    return browser.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).find(g => g.id === arguments[1])",
        css, element_id)


def _step_box(data, t):
    return next(step for step in data["steps"] if step["t"] == t)


def _param(tr, name):
    return next(leaf for leaf in tr.parameters() if leaf.name.endswith(name))


# --- the page as data (no browser) ----------------------------------------------------------------
@needs_dot
def test_page_is_self_contained_and_carries_the_numbers(pages):
    tr, layer, path = pages["RNN"]
    text, data = _page_data(path)
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert not re.search(r'(?:src|href)\s*=\s*["\']?(?:https?:)?//', text)
    assert "<!DOCTYPE svg" not in text and "<?xml" not in text
    assert data["time_steps"] == tr.time_steps == [0, 1, 2, 3, 4]
    for leaf in tr.parameters():
        entry = next(p for p in data["parameters"] if p["name"] == leaf.name)
        expected = [(t, float(np.linalg.norm(g))) for t, g in tr.contributions(leaf.tensor)]
        assert [t for t, _, _ in entry["contributions"]] == [t for t, _ in expected]
        np.testing.assert_allclose([v for _, v, _ in entry["contributions"]],
                                   [v for _, v in expected], rtol=1e-12)
        assert all(re.fullmatch(r"#[0-9a-f]{6}", colour) if value else colour is None
                   for _, value, colour in entry["contributions"])
    states = tr.state_grad_norms()
    assert dict((t, v) for t, v in data["state_grad_norms"]) == pytest.approx(states, rel=1e-12)
    assert sorted(step["t"] for step in data["steps"]) == tr.time_steps
    for step in data["steps"]:       # one row: a box holds its step's ops and hands on its state
        assert step["ops"] == [r.index for r in tr.ops if r.time_step == step["t"]]
        assert step["grad_norm"] == pytest.approx(states[step["t"]], rel=1e-12)
    # the page's picture is the Drawing that tr.render writes: the same ids
    from tinyseq.render.graph import drawing
    laid = drawing(tr, grads=True)
    assert set(data["nodes"]) == set(laid.nodes)
    assert [s["box"] for s in data["steps"]] == [box.id for box in laid.steps]
    for element_id in list(laid.nodes) + [edge.id for edge in laid.edges] + [b.id for b in laid.steps]:
        assert f'id="{element_id}"' in text


@needs_dot
def test_explorer_data_from_the_trace_alone_is_what_the_page_carries(pages):
    """explorer_data(trace, **options) builds the picture itself, as to_html does."""
    from tinyseq import explorer
    tr, layer, path = pages["LSTM"]
    _, page = _page_data(path)
    data = json.loads(json.dumps(explorer.explorer_data(tr)))      # JSON-ready
    page.pop("title")
    assert data == page
    every_op = explorer.explorer_data(tr, collapse=False)
    assert len(every_op["nodes"]) > len(data["nodes"])
    with pytest.raises(ValueError, match="explorer_data: the trace recorded no ops"):
        explorer.explorer_data(ts.trace())


@needs_dot
def test_to_html_returns_text_without_a_path_and_checks_its_input(pages, tmp_path):
    tr = pages["GRU"][0]
    page = tr.to_html()
    assert page.startswith("<!DOCTYPE html>") and 'id="tinyseq-data"' in page
    with pytest.raises(ValueError, match=r"to_html: the path must end in \.html"):
        tr.to_html(tmp_path / "graph.svg")
    assert not (tmp_path / "graph.svg").exists()
    with pytest.raises(ValueError, match="to_html: the trace recorded no ops"):
        ts.trace().to_html(tmp_path / "empty.html")


@needs_dot
def test_to_html_takes_a_loop_over_numpy_integer_steps():
    weight, h = ts.randn(3, 3, requires_grad=True), ts.randn(2, 3)
    with ts.trace() as tr:
        for t in np.arange(3):                  # numpy.int64 steps, as ts.timestep(int) takes
            with ts.timestep(t):
                h = (h @ weight).tanh()
        loss = h.sum()
    loss.backward()
    data = json.loads(re.search(r'id="tinyseq-data"[^>]*>(.*?)</script>', tr.to_html(),
                                re.S).group(1))
    assert data["time_steps"] == [0, 1, 2]


# --- in the browser -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(MODELS))
def test_hovering_a_node_shows_op_shapes_module_step_and_gradient(browser, pages, name):
    from selenium.webdriver.common.action_chains import ActionChains
    tr, _, path = pages[name]
    _open(browser, path)
    data = browser.execute_script("return window.tinyseqExplorer.data")
    t = tr.time_steps[1]
    node_name, node = next((n, v) for n, v in data["nodes"].items()
                           if v["kind"] in ("cell", "op") and v["t"] == t and v["ops"])
    element = _by_id(browser, "g.node", node_name)
    ActionChains(browser).move_to_element(element).perform()
    tooltip = browser.find_element("id", "tooltip")
    assert tooltip.is_displayed()
    assert tooltip.get_attribute("data-node") == node_name
    text = tooltip.text
    records = [tr.ops[i] for i in node["ops"]]
    assert records[0].kind in text
    assert f"time step {t}" in text
    assert "(" + ", ".join(str(n) for n in records[-1].shape) + ")" in text
    assert "module" in text and (records[-1].module_path or "(top level)") in text
    norm = float(re.search(r"gradient norm ([-+0-9.e]+)", text).group(1))
    box = next(step for step in data["steps"] if step["box"] == node["box"])
    expected = records[0].grad_norm if len(records) == 1 else box["grad_norm"]
    assert norm == pytest.approx(expected, rel=1e-3)
    ActionChains(browser).move_to_element(browser.find_element("tag name", "header")).perform()
    assert not tooltip.is_displayed()


@pytest.mark.parametrize("name, weight", [("RNN", "weight_hh_l0"), ("LSTM", "weight_hh_l0"),
                                          ("GRU", "weight_ih_l0"), ("Seq2Seq", "encoder.weight_hh_l0")])
def test_clicking_a_parameter_shows_its_contributions_and_highlights_its_edges(browser, pages,
                                                                                name, weight):
    tr, _, path = pages[name]
    _open(browser, path)
    leaf = _param(tr, weight)
    data = browser.execute_script("return window.tinyseqExplorer.data")
    order = next(p["id"] for p in data["parameters"] if p["name"] == leaf.name)
    param_node = next(i for i, n in data["nodes"].items() if n["kind"] == "param" and n["leaf"] == order)
    _by_id(browser, "g.node", param_node).click()
    side = browser.find_element("id", "side-content")
    assert side.get_attribute("data-param") == leaf.name
    expected = tr.contributions(leaf.tensor)
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('#contributions td.value')).map("
        "td => [td.dataset.value, td.textContent])")
    bars = browser.execute_script(
        "return Array.from(document.querySelectorAll('svg.chart rect.bar')).map("
        "r => [r.dataset.t, Number(r.dataset.value)])")
    assert len(shown) == len(bars) == len(expected) > 1
    for (t, g), (value, text), (bar_t, bar_value) in zip(expected, shown, bars):
        norm = float(np.linalg.norm(g))
        assert float(value) == pytest.approx(norm, rel=1e-6, abs=1e-12)
        assert float(text) == pytest.approx(norm, rel=1e-6, abs=1e-12)
        assert bar_value == pytest.approx(norm, rel=1e-6, abs=1e-12)
        assert bar_t == str(t)
    # the bars are on the picture's log scale, in the picture's colours
    drawn = browser.execute_script(
        "return Array.from(document.querySelectorAll('svg.chart rect.bar')).map("
        "r => [Number(r.getAttribute('height')), r.getAttribute('fill')])")
    entry = next(p for p in data["parameters"] if p["id"] == order)
    low, high = data["share_range"]
    for (height, fill), (_, value, colour) in zip(drawn, entry["contributions"]):
        if value:
            assert fill == colour
            level = min(1, max(0, np.log(value / low) / np.log(high / low)))
            assert height == pytest.approx(2 + (150 - 22) * level, abs=0.01)
    highlighted = browser.execute_script(
        "return Array.from(document.querySelectorAll('g.edge.highlight')).map(g => g.id)")
    assert highlighted and sorted(highlighted) == sorted(data["param_edges"][str(order)])
    steps_reached = {data["nodes"][data["edges"][e]["head"]]["t"] for e in highlighted}
    assert steps_reached - {None} == {t for t, _ in expected if t is not None}


@pytest.mark.parametrize("name", list(MODELS))
def test_clicking_a_step_box_expands_and_collapses_its_ops(browser, pages, name):
    tr, _, path = pages[name]
    _open(browser, path)
    data = browser.execute_script("return window.tinyseqExplorer.data")
    t = tr.time_steps[-2]
    box = _step_box(data, t)["box"]
    label = browser.execute_script(
        "return arguments[0].querySelector('text')", _by_id(browser, "g.cluster", box))
    label.click()
    cards = browser.find_elements("css selector", f'.card[data-box="{box}"]')
    assert len(cards) == 1 and cards[0].is_displayed()
    items = cards[0].find_elements("css selector", "li.op")
    expected = [tr.ops[i] for i in _step_box(data, t)["ops"]]
    assert expected and all(r.time_step == t for r in expected)
    assert [int(li.get_attribute("data-op")) for li in items] == [r.index for r in expected]
    assert [li.find_element("tag name", "b").text for li in items] == [r.kind for r in expected]
    assert "expanded" in _by_id(browser, "g.cluster", box).get_attribute("class")
    label.click()
    assert not browser.find_elements("css selector", f'.card[data-box="{box}"]')
    assert "expanded" not in _by_id(browser, "g.cluster", box).get_attribute("class")


def _reached(browser):
    return browser.execute_script(
        "return Array.from(document.querySelectorAll('g.cluster.reached')).map(g => "
        "[g.id, Number(g.dataset.gradNorm), "
        "g.querySelector('path, polygon').getAttribute('fill')])")


@pytest.mark.parametrize("name", list(MODELS))
def test_backward_slider_colours_exactly_the_steps_the_gradient_reached(browser, pages, name):
    from selenium.webdriver.common.keys import Keys
    tr, _, path = pages[name]
    _open(browser, path)
    data = browser.execute_script("return window.tinyseqExplorer.data")
    slider = browser.find_element("id", "backward")
    assert int(slider.get_attribute("value")) == tr.time_steps[-1] + 1
    assert _reached(browser) == []
    states = {step["t"]: step["grad_norm"] for step in data["steps"] if step["grad_norm"]}
    box_of = {step["box"]: step["t"] for step in data["steps"]}
    pressed = 0
    for presses in (1, 3, len(tr.time_steps)):
        slider.send_keys(Keys.ARROW_LEFT * (presses - pressed))
        pressed = presses
        t = int(slider.get_attribute("value"))
        assert t == tr.time_steps[-1] + 1 - presses
        reached = _reached(browser)
        assert sorted(box_of[box] for box, _, _ in reached) == [s for s in tr.time_steps
                                                               if s >= t and s in states]
        for box, norm, fill in reached:
            assert norm == pytest.approx(states[box_of[box]], rel=1e-9)
            assert fill.startswith("hsl(")
        label = browser.find_element("id", "backward-label")
        step = _step_box(data, t)
        assert label.get_attribute("data-t") == str(t)
        assert f"{step['row']} t = {step['label']}".strip() in label.text
    fills = {box: fill for box, _, fill in _reached(browser)}
    weakest = min(states, key=states.get)
    strongest = max(states, key=states.get)
    hue = {t: int(re.match(r"hsl\((\d+)", fills[box]).group(1)) for box, t in box_of.items()}
    assert hue[weakest] > hue[strongest]          # blue for small, red for large


def test_backward_arrow_keys_and_play_walk_back_to_the_first_step(browser, pages):
    from selenium.webdriver.common.keys import Keys
    tr, _, path = pages["GRU"]
    _open(browser, path)
    slider = browser.find_element("id", "backward")
    slider.send_keys(Keys.ARROW_LEFT, Keys.ARROW_LEFT)
    assert int(slider.get_attribute("value")) == tr.time_steps[-1] - 1
    assert len(_reached(browser)) == 2
    browser.find_element("id", "play").click()
    deadline = time.time() + 10
    while int(slider.get_attribute("value")) > tr.time_steps[0] and time.time() < deadline:
        time.sleep(0.1)
    assert int(slider.get_attribute("value")) == tr.time_steps[0]
    assert len(_reached(browser)) == len(tr.time_steps)


@pytest.mark.parametrize("name", list(MODELS))
def test_the_page_makes_no_network_request(browser, pages, name):
    from selenium.webdriver.common.action_chains import ActionChains
    tr, _, path = pages[name]
    _open(browser, path)
    data = browser.execute_script("return window.tinyseqExplorer.data")
    for node in list(data["nodes"])[:3]:                    # interact, then look
        element = _by_id(browser, "g.node", node)
        if element is not None and element.is_displayed():
            ActionChains(browser).move_to_element(element).perform()
    browser.execute_script("var e = window.tinyseqExplorer; e.selectParam(e.data.parameters[0].id);"
                           "e.toggleStep(e.data.steps[0].box); e.showBackward(0);")
    requests = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert requests == []
    external = browser.execute_script(
        "return Array.from(document.querySelectorAll('[src], [href], [xlink\\\\:href]')).map("
        "e => e.getAttribute('src') || e.getAttribute('href') || e.getAttribute('xlink:href'))")
    assert [url for url in external if re.match(r"^(https?:)?//", url or "")] == []
    policy = browser.execute_script(
        "return document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]').content")
    assert "default-src 'none'" in policy
    assert browser.execute_script("return window.tinyseqExplorer.data.steps.length") == tr.steps


@pytest.mark.slow
def test_a_hundred_steps_stay_responsive(browser, tmp_path):
    tr, _ = _rnn_trace("LSTM", 100)
    start = time.perf_counter()
    path = tr.to_html(tmp_path / "long.html")
    written = time.perf_counter() - start
    assert written < 10, f"to_html took {written:.1f} s for 100 steps"
    _open(browser, path)
    elapsed = browser.execute_script(
        "var e = window.tinyseqExplorer, start = performance.now();"
        "for (var t = 100; t >= 0; t--) e.showBackward(t);"
        "e.selectParam(e.data.parameters[1].id);"
        "e.toggleStep(e.data.steps[Math.floor(e.data.steps.length / 2)].box);"
        "return performance.now() - start")
    assert elapsed < 1000, f"walking 100 steps back took {elapsed:.0f} ms"
    data = browser.execute_script("return window.tinyseqExplorer.data")
    reached = [s for s in data["steps"] if s["grad_norm"]]
    assert len(_reached(browser)) == len(reached) and 10 <= len(reached) < 100      # elided


# --- neuron views (no browser) --------------------------------------------------------------------
class _Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 6)

    def forward(self, x):
        return self.lstm(x)


def _values_trace(steps=40, batch=2):
    ts.manual_seed(0)
    model = _Tagger()
    with ts.no_grad(), ts.trace(values=True) as tr:
        model(ts.randn(steps, batch, 3))
    return tr


def test_find_units_ranks_units_by_their_correlation_with_the_feature():
    from tinyseq.explorer import find_units
    tr = _values_trace()
    cells = tr.activations("lstm", "c")
    feature = -3.0 * cells[:, 1, 4] + 0.5                  # unit 4 of sequence 1, flipped
    ranked = find_units(tr, "lstm", "c", feature, batch=1)
    assert ranked[0][0] == 4 and ranked[0][1] == pytest.approx(-1.0, abs=1e-12)
    expected = [np.corrcoef(cells[:, 1, u], feature)[0, 1] for u in range(cells.shape[2])]
    assert dict(ranked) == pytest.approx(dict(enumerate(expected)), abs=1e-10)
    assert [abs(r) for _, r in ranked] == sorted((abs(r) for _, r in ranked), reverse=True)
    both = find_units(tr, "lstm", "h", tr.activations("lstm", "h")[:, :, 2])   # (T, B) feature
    assert both[0][0] == 2 and both[0][1] == pytest.approx(1.0, abs=1e-12)


def test_find_units_refuses_features_that_do_not_fit():
    from tinyseq.explorer import find_units
    tr = _values_trace()
    with pytest.raises(ValueError, match=r"find_units: the feature has 39 steps, the activations 40"):
        find_units(tr, "lstm", "c", np.arange(39.0))
    with pytest.raises(ValueError, match=r"find_units: the feature has shape \(40, 3\)"):
        find_units(tr, "lstm", "c", np.zeros((40, 3)))
    with pytest.raises(ValueError, match="find_units: the feature is constant"):
        find_units(tr, "lstm", "c", np.ones(40))
    with pytest.raises(IndexError, match="batch index 2 out of range for a batch of 2"):
        find_units(tr, "lstm", "c", np.arange(40.0), batch=2)
    with ts.trace() as plain:
        _Tagger()(ts.randn(4, 1, 3))
    with pytest.raises(ValueError, match=r"ts.trace\(values=True\)"):
        find_units(plain, "lstm", "c", np.arange(4.0))


def test_python_source_features():
    from tinyseq.explorer import indentation_depth, inside_string_literal, position_in_line
    source = 'def f(x):\n    y = "a\\"b"  # it\'s\n    return x\n'
    marks = "".join(str(int(v)) for v in inside_string_literal(source))
    line = source.split("\n")[1]
    start = len("def f(x):\n")
    assert marks[start:start + len(line)] == "".join(
        "1" if 8 <= i <= 13 else "0" for i in range(len(line)))   # "a\"b", not the comment
    assert marks.count("1") == 6
    assert inside_string_literal("x = '''a\n'b'\n''' + 1").tolist() == \
        [0] * 4 + [1] * 12 + [0] * 4
    assert indentation_depth(source).tolist() == [0] * 10 + [4] * (len(line) + 1) + [4] * 13
    assert inside_string_literal("s = 'ab\nx = 1").tolist() == [0] * 4 + [1] * 3 + [0] * 6
    assert position_in_line("ab\nc").tolist() == [0, 1, 2, 0]


def test_text_heatmap_colours_each_character_by_its_value(tmp_path):
    from tinyseq import render
    text = "if x:\n\treturn '<a>'"
    values = np.linspace(-2.0, 1.0, len(text))
    path = render.text_heatmap(text, values, tmp_path / "unit.html", title="unit 3")
    page = open(path, encoding="utf-8").read()
    spans = re.findall(r'<span style="background:rgba\((\d+), (\d+), (\d+), ([0-9.]+)\)" '
                       r'title="[^"]*" data-value="([^"]+)">(.*?)</span>', page, re.S)
    assert len(spans) == len(text)
    assert [float(s[4]) for s in spans] == values.tolist()
    assert [s[0] for s in spans[:3]] == ["31"] * 3 and spans[-1][0] == "214"   # blue < 0 < red
    assert float(spans[0][3]) == pytest.approx(1.0) and float(spans[-1][3]) == pytest.approx(0.5)
    assert "&lt;a&gt;" in "".join(s[5] for s in spans)
    assert "default-src 'none'" in page and "http" not in page.replace("http-equiv", "")
    with pytest.raises(ValueError, match="text_heatmap: 3 values for 4 characters"):
        render.text_heatmap("abcd", [1, 2, 3])
    with pytest.raises(ValueError, match="text_heatmap: the path must end in .html"):
        render.text_heatmap("ab", [1, 2], tmp_path / "x.png")


def test_plot_activations_draws_units_by_time():
    from tinyseq import render
    tr = _values_trace(steps=12)
    figure = render.plot_activations(tr, "lstm", "f", units=[5, 1], batch=1, text="abcdefghijkl")
    image = figure.axes[0].images[0]
    np.testing.assert_array_equal(image.get_array(), tr.activations("lstm", "f")[:, 1, [5, 1]].T)
    assert image.get_clim() == (0.0, 1.0) and image.get_cmap().name == "viridis"
    assert [label.get_text() for label in figure.axes[0].get_xticklabels()][:3] == ["a", "b", "c"]
    everything = render.plot_activations(tr, "lstm", "h")
    assert everything.axes[0].images[0].get_array().shape == (6, 12)
    low, high = everything.axes[0].images[0].get_clim()
    assert low == -high == -np.abs(tr.activations("lstm", "h")[:, 0]).max()
    with pytest.raises(IndexError, match=r"plot_activations: units \[6\] out of range for 6"):
        render.plot_activations(tr, "lstm", "h", units=[0, 6])
    with pytest.raises(ValueError, match="plot_activations: text has 3 characters for 12"):
        render.plot_activations(tr, "lstm", "h", text="abc")


@needs_dot
def test_a_trace_shows_itself_in_jupyter(pages):
    tr = pages["LSTM"][0]
    svg = tr._repr_svg_()
    assert svg.startswith("<svg") and "<title>cluster_t0</title>" in svg
    assert "|grad|" in svg                                  # after backward: gradient colours
    assert ts.trace()._repr_svg_() is None


@pytest.mark.slow
def test_char_lm_reports_its_string_and_indentation_units(tmp_path):
    import importlib.util
    from pathlib import Path
    from tinyseq.explorer import indentation_depth, inside_string_literal
    spec = importlib.util.spec_from_file_location(
        "char_lm", Path(__file__).parent.parent / "examples" / "char_lm.py")
    char_lm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(char_lm)
    out = char_lm.main(max_chars=40_000, epochs=1, batch_size=16, bptt=16, hidden_size=32,
                       embed_size=16, lr=1e-2, valid_chars=4_000, eval_every=50,
                       sample_chars=20, progress_bar=False, neuron_chars=1500,
                       output_dir=tmp_path)
    assert set(out["units"]) == {"inside a string literal", "indentation depth"}
    model, vocab = out["model"], out["vocab"]
    for feature, (unit, r, path) in out["units"].items():
        page = open(path, encoding="utf-8").read()
        assert f"unit {unit}: r = {r:+.2f}" in page
        text = "".join(html_unescape(s) for s in re.findall(r'data-value="[^"]+">(.*?)</span>',
                                                               page, re.S)).replace("↵\n", "\n")
        assert len(text) == 1500
        with ts.no_grad(), ts.trace(values=True) as tr:
            model(np.array(vocab.encode(text))[:, None])
        cell = tr.activations("lstm", "c")[:, 0, unit]
        values = inside_string_literal(text) if "string" in feature else indentation_depth(text)
        assert r == pytest.approx(np.corrcoef(cell, values)[0, 1], abs=1e-6)
        others = [abs(np.corrcoef(tr.activations("lstm", "c")[:, 0, u], values)[0, 1])
                  for u in range(32)]
        assert abs(r) == pytest.approx(max(o for o in others if np.isfinite(o)), abs=1e-6)


def html_unescape(text):
    import html
    return html.unescape(text)


@pytest.mark.slow
@needs_dot
def test_a_notebook_shows_a_trace_inline_and_plots_as_figures():
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed (pip install -e '.[dev]')")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install -e '.[dev]')")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (pip install -e '.[dev]')")
    source = ("import tinyseq as ts\nfrom tinyseq import nn, render\nimport tinyseq.functional as F\n"
              "ts.manual_seed(0)\nrnn = nn.LSTM(2, 3)\n"
              "with ts.trace(values=True) as tr:\n    out, _ = rnn(ts.randn(4, 1, 2))\n"
              "    loss = F.mse_loss(out, ts.zeros(4, 1, 3))\nloss.backward()\ntr")
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(source),
        nbformat.v4.new_code_cell("%matplotlib inline\nrender.plot_activations(tr, '', 'c')")])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    trace_output, figure_output = (cell.outputs[-1] for cell in notebook.cells)
    svg = trace_output["data"]["image/svg+xml"]
    assert "<title>cluster_t3</title>" in svg and "|grad|" in svg
    assert "image/png" in figure_output["data"] and "Figure" in figure_output["data"]["text/plain"]


@pytest.mark.slow
@needs_dot
def test_the_demo_writes_its_explorer_and_both_attention_maps(tmp_path, monkeypatch):
    import importlib
    import sys
    from pathlib import Path
    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "examples"))
    demo = importlib.import_module("demo")
    result = demo.main(output_dir=str(tmp_path), n_train=300, epochs=1)
    _, data = _page_data(tmp_path / "demo_explorer.html")
    shown = {step["t"] for step in data["steps"]}        # as the picture: long rows elided
    left_out = {t for row in data["rows"] for t in row["elided"]}
    assert shown | left_out == set(data["time_steps"]) and shown
    assert len(data["time_steps"]) > 10
    rows = {step["row"] for step in data["steps"]}
    assert "decoder" in rows and any(row.startswith("encoder") for row in rows)
    for name in ("greedy", "beam"):
        assert "<svg" in (tmp_path / f"demo_attention_{name}.svg").read_text()
    model, data = result["model"], result["data"]
    source = [data.source_vocab.encode(data.test[0][0])]
    model.eval()
    tokens, weights = model.greedy_decode(source, max_len=40)
    steps = min(len(tokens[0]) + 1, len(weights[0]))       # the tokens, then <eos> if reached
    np.testing.assert_allclose(demo.attention_over(model, source, tokens[0])[:steps],
                               weights[0][:steps], atol=1e-6)
    sys.modules.pop("demo", None)


# --- the explorer on the drawing model: rows, scrolling, controls, long traces, hostile names ----
def _bidirectional_trace():
    ts.manual_seed(0)
    layer = nn.GRU(3, 4, bidirectional=True)
    x, y = ts.randn(5, 2, 3), ts.randn(5, 2, 8)
    with ts.trace() as tr:
        output, _ = layer(x)
        loss = F.mse_loss(output, y)                 # every step of both rows gets a gradient
    loss.backward()
    return tr


@needs_dot
def test_a_reverse_row_is_walked_in_its_own_backward_order(browser, tmp_path):
    """The reverse row's state flows t = 4 -> 0, so its gradient flows 0 -> 4: one step back
    from the loss lights t = 4 of the forward row and t = 0 of the reverse row."""
    tr = _bidirectional_trace()
    path = tr.to_html(tmp_path / "bidirectional.html")
    _open(browser, path)
    data = browser.execute_script("return window.tinyseqExplorer.data")
    reverse = {step["box"]: step["reverse"] for step in data["steps"]}
    t_of = {step["box"]: step["t"] for step in data["steps"]}
    assert sorted(reverse.values()) == [False] * 5 + [True] * 5
    for value, forward_lit, reverse_lit in ((4, [4], [0]), (2, [2, 3, 4], [0, 1, 2]),
                                            (0, [0, 1, 2, 3, 4], [0, 1, 2, 3, 4])):
        browser.execute_script("window.tinyseqExplorer.showBackward(arguments[0])", value)
        reached = [box for box, _, _ in _reached(browser)]
        assert sorted(t_of[b] for b in reached if not reverse[b]) == forward_lit
        assert sorted(t_of[b] for b in reached if reverse[b]) == reverse_lit
    # a box's card lists its own direction's ops only, and its norm is its own row's
    for step in data["steps"]:
        assert step["ops"] and all(tr.ops[i].time_step == step["t"] for i in step["ops"])
    fused = [r for r in tr.ops if r.kind == "gru_step"]
    forward_ops = {s["t"]: set(s["ops"]) for s in data["steps"] if not s["reverse"]}
    reverse_ops = {s["t"]: set(s["ops"]) for s in data["steps"] if s["reverse"]}
    for t in range(5):
        assert forward_ops[t].isdisjoint(reverse_ops[t])
        assert len([i for i in forward_ops[t] | reverse_ops[t] if tr.ops[i] in fused]) == 2


@needs_dot
def test_controls_keep_their_place_when_the_label_changes(browser, pages):
    _open(browser, pages["Seq2Seq"][2])
    where = ("return ['play', 'backward', 'zoom-in', 'scale'].map(i => {"
             "var r = document.getElementById(i).getBoundingClientRect(); return [r.left, r.top]; })")
    before = browser.execute_script(where)
    for value in (8, 3, 0):
        browser.execute_script("window.tinyseqExplorer.showBackward(arguments[0])", value)
        assert browser.execute_script(where) == before
    browser.find_element("id", "play").click()                 # the button says pause now
    assert browser.execute_script(where) == before
    browser.find_element("id", "play").click()


@needs_dot
def test_the_first_view_shows_the_picture_and_a_weight_click_scrolls_to_its_first_edge(
        browser, tmp_path):
    tr, layer = _rnn_trace("LSTM", 20)
    _open(browser, tr.to_html(tmp_path / "twenty.html"))
    visible = ("var view = document.getElementById('graph').getBoundingClientRect();"
               "return Array.from(document.querySelectorAll(arguments[0])).filter(g => {"
               "var r = g.getBoundingClientRect(); return r.width > 0 && r.right > view.left && "
               "r.left < view.right && r.bottom > view.top && r.top < view.bottom; }).map(g => g.id)")
    assert browser.execute_script(visible, "g.cluster")        # step boxes, not a blank band
    data = browser.execute_script("return window.tinyseqExplorer.data")
    leaf = next(p["id"] for p in data["parameters"] if p["name"] == "weight_hh_l0")
    first = data["param_edges"][str(leaf)][0]
    step_of = {i: data["nodes"][e["head"]]["t"] for i, e in data["edges"].items()}
    assert step_of[first] == 0            # time order; an elided box's edge (t None) last
    browser.execute_script("var g = document.getElementById('graph');"
                           "g.scrollLeft = g.scrollWidth; g.scrollTop = g.scrollHeight;")
    assert first not in browser.execute_script(visible, "g.edge")
    browser.execute_script("window.tinyseqExplorer.selectParam(arguments[0])", leaf)
    assert first in browser.execute_script(visible, "g.edge.highlight")


@needs_dot
def test_to_html_of_a_thousand_steps_uses_the_pictures_elision(tmp_path):
    ts.manual_seed(0)
    layer = nn.LSTM(3, 5)
    x, y = ts.randn(1000, 1, 3), ts.randn(1, 5)
    with ts.trace() as tr:
        output, _ = layer(x)
        loss = F.mse_loss(output[-1], y)
    loss.backward()
    text, data = _page_data(tr.to_html(tmp_path / "long.html"))
    shown = sorted(step["t"] for step in data["steps"])
    assert shown[0] == 0 and shown[-1] == 999 and len(shown) < 60        # first and last steps
    assert data["rows"][0]["elided"] and len(data["time_steps"]) == 1000


@needs_dot
def test_a_failing_graphviz_says_what_to_do(monkeypatch, pages):
    from tinyseq.render import dot as dot_writer

    def crash(source, output_format, engine=None):
        raise RuntimeError("render: Graphviz (neato -n2) failed: ")
    monkeypatch.setattr(dot_writer, "run_graphviz", crash)
    with pytest.raises(RuntimeError, match=r"to_html: Graphviz failed on a picture of \d+ nodes "
                                           r".*first_last=5.*max_nodes=200"):
        pages["GRU"][0].to_html()


HOSTILE = {"module": 'rnn"><img src=x onerror="window.pwned=1">',
           "param": 'w" onmouseover="window.pwned=2" x="<!--<script>',
           "scope": "</script><script>window.pwned=3</script>\u2028",
           "title": "javascript:window.pwned=4 </title><script>window.pwned=5</script>"}


class _Hostile(nn.Module):
    """A GRU and a hand-written loop whose names are all attacks on the page."""

    def __init__(self):
        super().__init__()
        setattr(self, HOSTILE["module"], nn.GRU(3, 4))
        setattr(self, HOSTILE["param"], nn.Parameter(ts.randn(4, 4)))

    def forward(self, x):
        output, _ = getattr(self, HOSTILE["module"])(x)
        h = ts.zeros(x.shape[1], 4)
        for t in range(x.shape[0]):
            with ts.timestep(x.shape[0] + t), ts.scope(HOSTILE["scope"]):
                h = (output[t] + h @ getattr(self, HOSTILE["param"])).tanh()
        return h


@needs_dot
def test_hostile_names_stay_text_and_the_page_still_works(browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    ts.manual_seed(0)
    model = _Hostile()
    with ts.trace() as tr:
        loss = (model(ts.randn(4, 2, 3)) ** 2).mean()
    loss.backward()
    path = tr.to_html(tmp_path / "hostile.html", title=HOSTILE["title"])
    text, data = _page_data(path)
    assert "<script>window" not in text and "<img" not in text
    assert data["title"] == HOSTILE["title"]
    assert HOSTILE["scope"] in {op["scope"] for op in data["ops"]}
    _open(browser, path)
    assert browser.title == HOSTILE["title"]
    firsts = {step["row_id"]: step for step in reversed(data["steps"])}
    for step in firsts.values():                 # a card of each row, hover the op that reads
        browser.execute_script("window.tinyseqExplorer.toggleStep(arguments[0])", step["box"])
        items = browser.find_elements("css selector", f'.card[data-box="{step["box"]}"] li.op')
        item = next(li for li in items if "weight" in li.get_attribute("title")
                    or HOSTILE["param"] in li.get_attribute("title"))
        ActionChains(browser).move_to_element(item).perform()      # the named weights
        assert "inputs:" in item.get_attribute("title")
        browser.execute_script("window.tinyseqExplorer.toggleStep(arguments[0])", step["box"])
    named = [name for name, node in data["nodes"].items() if node["kind"] in ("param", "cell")]
    for name in named[:12]:                      # hover nodes that show the names
        element = _by_id(browser, "g.node", name)
        if element is not None and element.is_displayed():
            ActionChains(browser).move_to_element(element).perform()
    leaf = next(p for p in data["parameters"] if p["name"] == HOSTILE["param"])
    browser.execute_script("window.tinyseqExplorer.selectParam(arguments[0])", leaf["id"])
    assert browser.find_element("css selector", "#side-content h2").text.startswith(HOSTILE["param"])
    slider = browser.find_element("id", "backward")
    slider.send_keys(Keys.ARROW_LEFT * 4)                    # back to t = 4: the loop's steps
    assert sorted(box for box, _, _ in _reached(browser)) == sorted(
        s["box"] for s in data["steps"] if s["t"] >= 4 and s["grad_norm"])
    assert browser.execute_script("return window.pwned") is None
