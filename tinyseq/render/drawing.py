"""The drawing model: what a BPTT picture shows, as plain data between the trace and every output.

    Trace --plan.plan()--> Drawing --layout.lay_out()--> Drawing with coordinates
          --dot.to_dot_text()--> DOT text (pinned positions) --Graphviz--> SVG / PNG / PDF

The plan decides what is drawn (which ops become which nodes, which step box holds them, which
edges join them); the layout gives every item its place; the writers only write. The
explorer reads the same laid-out Drawing.

Every item has a stable ``id``: the same trace and options give the same ids in every run and
process. A node's and an edge's ``id`` is its Graphviz name and its SVG element's ``id``
attribute, and a step box's ``id`` is its cluster's name (``cluster_t3``, ``cluster_r1_t3``),
so an SVG element maps back to its Drawing item.

Coordinates are in points (1/72 inch, one pixel at 100%), origin at the top left of the
picture, y growing downwards (as on the page). ``x``, ``y`` of a node are its centre; ``x``,
``y`` of a box (step, row, chunk, band, legend) are its top left corner. Before layout they
are None.

Time steps: ``time_step`` is the trace's global step (truncated BPTT numbers chunks on; an
encoder and a decoder have different global steps); ``local_step`` is the step as the row
numbers it (the decoder's first step is t = 0).
"""
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

# Node kinds
OP = "op"                # one recorded op (drawn op by op)
CELL = "cell"            # the ops of one module in one step, collapsed into one node
PARAM = "param"          # a shared parameter in the band below the rows
DATA = "data"            # data drawn once (a whole tensor read outside the steps)
INPUT = "input"          # what one step reads of the input sequence: x_t
INITIAL = "initial"      # a row's initial state, at the row's left: "initial state h_0"
TARGET = "target"        # what one step's loss compares with: "target"
TAP = "tap"              # the shared weights one step reads, one cell per weight
OUTPUT = "output"        # what one step hands to an op outside the steps: "y_t"
LOSS = "loss"            # a loss op (drawn with a bold red box)
ELIDED = "elided"        # one box standing for the steps left out of a long row
CONTEXT = "context"      # the encoder-decoder bridge between the two rows
MEMORY = "memory"        # what attention reads: all of the encoder's outputs
CUT = "cut"              # truncated BPTT: the state handed on through detach()

# Edge kinds
STATE = "state"          # the recurrent state from one step to the next (h_t, c_t)
FLOW = "flow"            # any other value flowing forward
FEED = "feed"            # data into a step (x_t, target) or the initial state into step 0
TAP_EDGE = "tap"         # one weight of a step's tap into the node that reads it
UP = "up"                # a step's output straight up into the same step of the row above
GATHER = "gather"        # a step's output to an op outside the steps
ATTENTION = "attention"  # from the encoder row into a decoder step
CUT_EDGE = "cut"         # the state handed across a truncated-BPTT cut


@dataclass
class Cell:
    """One cell of a tap: a shared weight read by one step.

    ``port``: the Graphviz port name (``p3`` for leaf 3); ``label``: the short name (W_hh);
    ``leaf``: the parameter's leaf number (``Trace.leaf_order``); ``value``: the norm of that
    step's share of dL/dW (None before backward or when unknown); ``colour``: its heat colour."""
    port: str
    label: str
    leaf: int
    value: Optional[float] = None
    colour: Optional[str] = None


@dataclass
class Bar:
    """One bar of a parameter's dL/dW = sum over t: the step it stands for (``tick``, the row's
    local step, or "..." for an elision), the norm of that share and its heat colour."""
    tick: str
    value: float
    colour: str


@dataclass
class Node:
    """A drawn node.

    id:         Graphviz name and SVG id ("op12", "r0t3m0", "p2", "tap0t3", "x0r0t3", ...)
    kind:       one of the node kinds above
    label:      the text shown (plain text; lines separated by "\\n")
    row:        the id of the row it belongs to (None: outside every row)
    time_step:  the global time step (None: outside the steps)
    box:        the id of the step box that holds it (None: not in a step box)
    ops:        indices of the trace's ops it stands for (``Trace.ops``)
    leaves:     leaf numbers of the tensors it stands for (parameters, data)
    cells:      a tap's cells, in order
    bars:       a parameter's per-step share bars, in step order
    detail:     a second, smaller line (shape, |grad|)
    fill:       background colour
    value:      the norm of the gradient through it (after backward), else None
    x, y:       centre, after layout; width, height: after layout, in points
    """
    id: str
    kind: str
    label: str
    row: Optional[str] = None
    time_step: Optional[int] = None
    box: Optional[str] = None
    ops: List[int] = field(default_factory=list)
    leaves: List[int] = field(default_factory=list)
    cells: List[Cell] = field(default_factory=list)
    bars: List[Bar] = field(default_factory=list)
    detail: str = ""
    fill: str = "white"
    value: Optional[float] = None
    x: Optional[float] = None
    y: Optional[float] = None
    width: Optional[float] = None
    height: Optional[float] = None


@dataclass
class Edge:
    """A drawn edge from ``tail`` to ``head`` (node ids; ``tail_port``/``head_port``: a tap
    cell's port or "").

    id:         Graphviz id and SVG id ("e17")
    kind:       one of the edge kinds above
    label:      text along the edge (the state's name h_3; "" for none)
    value:      the number it carries after backward (a step's share, ||dL/dh_t||), else None
    colour, width: heat colour and pen width (None: the kind's default)
    time_step:  the global step it belongs to (a tap edge, a state edge: its producer's step)
    backwards:  drawn against the direction of time (a reverse row's state)
    """
    id: str
    kind: str
    tail: str
    head: str
    tail_port: str = ""
    head_port: str = ""
    label: str = ""
    value: Optional[float] = None
    colour: Optional[str] = None
    width: Optional[float] = None
    time_step: Optional[int] = None
    backwards: bool = False


@dataclass
class StepBox:
    """One time step of one row: the grey box "t = k".

    id: its cluster name ("cluster_t3" in row 0, "cluster_r1_t3" in row 1; k the local step);
    row: its row's id; time_step: global; local_step: as labelled; label: "t = k";
    nodes: ids of the nodes inside; ops: indices of the ops it draws; x, y (top left), width,
    height after layout."""
    id: str
    row: str
    time_step: int
    local_step: int
    label: str
    nodes: List[str] = field(default_factory=list)
    ops: List[int] = field(default_factory=list)
    x: Optional[float] = None
    y: Optional[float] = None
    width: Optional[float] = None
    height: Optional[float] = None


@dataclass
class Row:
    """One row of steps: a recurrent layer (and direction), the encoder or decoder, or the
    per-step losses.

    id:        "row0", "row1", ... in the order the rows first ran
    key:       (group, layer, reverse, module): group is the top-level module ("encoder"),
               layer the layer number (-1 for a row of ops that read no recurrent weight),
               reverse True for a bidirectional layer's backward direction, module the path
    name:      its title ("encoder", "layer 1 (reverse)", "the loss L_t of each step"; "" for
               a single row)
    kind:      "layer" or "losses"
    reverse:   its state flows right to left
    steps:     global steps drawn, in time order; elided: global steps left out
    start:     the global step its t = 0 stands for
    boxes:     ids of its step boxes in time order
    state:     the state's name ("h" or "h, c")
    anchors:   ids of the nodes that hand its state on to the next step (its own module's)
    x, y (top left), width, height after layout
    """
    id: str
    key: Tuple
    name: str
    kind: str = "layer"
    reverse: bool = False
    steps: List[int] = field(default_factory=list)
    elided: List[int] = field(default_factory=list)
    start: int = 0
    boxes: List[str] = field(default_factory=list)
    state: str = "h"
    anchors: List[str] = field(default_factory=list)
    x: Optional[float] = None
    y: Optional[float] = None
    width: Optional[float] = None
    height: Optional[float] = None


@dataclass
class Chunk:
    """Truncated BPTT: the steps of one chunk, boxed and named "chunk k: t = a..b"."""
    id: str
    label: str
    steps: List[int] = field(default_factory=list)
    x: Optional[float] = None
    y: Optional[float] = None
    width: Optional[float] = None
    height: Optional[float] = None


@dataclass
class Band:
    """The shared parameters, drawn once below the rows: ``nodes`` are PARAM node ids."""
    id: str
    label: str
    nodes: List[str] = field(default_factory=list)
    x: Optional[float] = None
    y: Optional[float] = None
    width: Optional[float] = None
    height: Optional[float] = None


@dataclass
class LegendLine:
    """One line of the legend: its text and, for a heat scale, the scale's low and high ends
    (the swatch runs blue to red on a log scale between them)."""
    text: str
    low: Optional[float] = None
    high: Optional[float] = None
    colour: str = ""


@dataclass
class Legend:
    """What the picture's colours, boxes and arrows mean; beside the band."""
    id: str
    lines: List[LegendLine] = field(default_factory=list)
    x: Optional[float] = None
    y: Optional[float] = None
    width: Optional[float] = None
    height: Optional[float] = None


@dataclass
class Drawing:
    """A whole picture.

    nodes:    {id: Node} in drawing order
    edges:    [Edge]
    steps:    [StepBox], rows in ``rows`` order, each row's boxes in time order
    rows:     [Row] from the top of the picture to the bottom
    chunks:   [Chunk] (truncated BPTT only)
    band:     the parameter band (None without parameters)
    legend:   the legend
    grads:    whether backward quantities are drawn
    collapse: one node per module per step (True) or every op (False)
    width, height: the whole picture, after layout
    """
    nodes: dict = field(default_factory=dict)
    edges: List[Edge] = field(default_factory=list)
    steps: List[StepBox] = field(default_factory=list)
    rows: List[Row] = field(default_factory=list)
    chunks: List[Chunk] = field(default_factory=list)
    band: Optional[Band] = None
    legend: Optional[Legend] = None
    grads: bool = False
    collapse: bool = True
    width: Optional[float] = None
    height: Optional[float] = None

    def add_node(self, node):
        self.nodes[node.id] = node
        return node

    def add_edge(self, kind, tail, head, **fields):
        edge = Edge(f"e{len(self.edges)}", kind, tail, head, **fields)
        self.edges.append(edge)
        return edge

    def row(self, row_id):
        return next(row for row in self.rows if row.id == row_id)

    def box(self, box_id):
        return next(box for box in self.steps if box.id == box_id)

    def row_columns(self, node_id):
        """[(left x, width, label, port)], left to right, of the columns of the row whose
        steps feed node ``node_id`` through ports (attention's bar under an encoder): one per
        step box ("h_k", port "t<global step>") and one for the elided steps ("⋯", no port);
        [] when no step does or before layout."""
        tails = [self.nodes[e.tail] for e in self.edges if e.head == node_id and e.head_port]
        rows = [tail.row for tail in tails if tail.row is not None]
        if not rows:
            return []
        row = self.row(rows[0])
        columns = []
        for box_id in row.boxes:
            box = self.box(box_id)
            if box.x is None:
                return []
            columns.append((box.x, box.width, f"h_{box.local_step}", f"t{box.time_step}"))
        elided = [n for n in self.nodes.values() if n.kind == ELIDED and n.row == row.id]
        if elided and columns and elided[0].x is not None:
            width = columns[0][1]
            columns.append((elided[0].x - width / 2, width, "⋯", None))
        return sorted(columns, key=lambda column: column[0])
