"""The text of Kafka Streams' TopologyDescription, parsed and drawn as a small left-to-right graph.

    from kafkabook import topology
    topo = topology.parse(text)       # text = print(topology.describe()) of a Streams app
    topology.draw(topo, "필터")         # topics -> sources -> processors -> sinks -> topics

The text format is the one of InternalTopologyBuilder.TopologyDescription.toString()
(kafka-streams 4.3.1): "Sub-topology: N" (or "... for global store (will not generate
tasks)") followed by "Source: name (topics: [...])", "Processor: name (stores: [...])",
"Sink: name (topic: t)" lines, each with "--> successors" / "<-- predecessors" lines
("none" when empty).
"""
import re
from dataclasses import dataclass, field

from . import plots

_SUB = re.compile(r"^\s*Sub-topology: (\d+)( for global store)?")
_NODE = re.compile(r"^\s*(Source|Processor|Sink): (\S+) \((topics|stores|topic|extractor class): (.*)\)\s*$")
_EDGE = re.compile(r"^\s*(-->|<--) (.*)$")

_HEAD = re.compile(r"^(Topologies:|Topology: .*:)\s*$")


def is_topology_line(line):
    """True for a line of TopologyDescription's text (header, sub-topology, node or edge line)."""
    return bool(line.strip() and (_HEAD.match(line.strip()) or _SUB.match(line) or _NODE.match(line)
                                  or _EDGE.match(line)))


KIND_KO = {"Source": "소스", "Processor": "프로세서", "Sink": "싱크"}
COLORS = {"Source": "#cfe8ff", "Processor": "#fff2c2", "Sink": "#d9f2d0",
          "topic": "#eeeeee", "store": "#f6d6f0"}


@dataclass
class Node:
    kind: str                       # "Source", "Processor" or "Sink"
    name: str
    topics: list = field(default_factory=list)      # a source's topics (or [pattern]), a sink's topic
    stores: list = field(default_factory=list)      # a processor's state stores
    successors: list = field(default_factory=list)
    predecessors: list = field(default_factory=list)


@dataclass
class SubTopology:
    id: int
    global_store: bool
    nodes: dict = field(default_factory=dict)        # name -> Node, in the order printed


@dataclass
class Topology:
    subtopologies: list

    def nodes(self):
        return [n for st in self.subtopologies for n in st.nodes.values()]

    def source_topics(self):
        return sorted({t for n in self.nodes() if n.kind == "Source" for t in n.topics})

    def sink_topics(self):
        return sorted({t for n in self.nodes() if n.kind == "Sink" for t in n.topics})

    def stores(self):
        return sorted({s for n in self.nodes() for s in n.stores})

    def edges(self):
        """[(from, to)] node-name pairs, from the --> lines."""
        return [(n.name, s) for n in self.nodes() for s in n.successors]


def _names(text):
    text = text.strip()
    return [] if text == "none" else [t.strip() for t in text.split(",") if t.strip()]


def _list(text):
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        return _names(text[1:-1]) if text != "[]" else []
    return [text]                   # a topic pattern or an extractor class


def parse(text):
    """Parse the text of topology.describe() into a Topology (sub-topologies of Nodes)."""
    subs, current, node = [], None, None
    for line in text.splitlines():
        if not line.strip() or line.strip().startswith(("Topologies:", "Topology:")):
            continue
        m = _SUB.match(line)
        if m:
            current = SubTopology(int(m.group(1)), bool(m.group(2)))
            subs.append(current)
            continue
        m = _NODE.match(line)
        if m:
            if current is None:
                raise ValueError(f"Sub-topology 줄보다 노드 줄이 먼저 나왔다: {line!r}")
            kind, name, what, value = m.groups()
            node = Node(kind, name)
            if what == "stores":
                node.stores = _list(value)
            else:
                node.topics = _list(value)
            current.nodes[name] = node
            continue
        m = _EDGE.match(line)
        if m and node is not None:
            (node.successors if m.group(1) == "-->" else node.predecessors).extend(_names(m.group(2)))
            continue
        raise ValueError(f"토폴로지 설명으로 읽을 수 없는 줄: {line!r}")
    if not subs:
        raise ValueError("Sub-topology가 하나도 없다: topology.describe()의 출력이 맞는지 확인한다.")
    return Topology(subs)


def _depths(st):
    """Column of each node in a sub-topology: 0 for sources, else 1 + the deepest predecessor."""
    memo = {}

    def depth(name, seen=()):
        if name not in memo:
            preds = [p for p in st.nodes[name].predecessors if p in st.nodes and p not in seen]
            memo[name] = 0 if not preds else 1 + max(depth(p, seen + (name,)) for p in preds)
        return memo[name]
    return {name: depth(name) for name in st.nodes}


def _wrap(name, width=24):
    """Break a long node or topic name after '-' or '.' so that boxes stay narrow."""
    lines, line = [], ""
    for part in re.split(r"(?<=[-.])", name):
        if line and len(line) + len(part) > width:
            lines.append(line)
            line = ""
        line += part
    return "\n".join(lines + [line])


def _layout(topo):
    """[(key, label, kind, col, row)] boxes and [(from key, to key, dashed)] arrows.

    Columns: source topics, then nodes by depth, then sink topics; within a column a box sits
    near the mean row of the boxes that feed it (fewer crossing arrows)."""
    boxes, arrows, row0 = [], [], 0
    for st in topo.subtopologies:
        depth = _depths(st)
        last = max(depth.values(), default=0) + 2
        feeds = {}                                   # box key -> keys of the boxes with arrows into it
        cols = {}                                    # column -> [(key, label, kind)] in first-seen order

        def add(key, label, kind, col):
            if key not in feeds:
                feeds[key] = []
                cols.setdefault(col, []).append((key, label, kind))

        for name, n in st.nodes.items():
            me = f"{st.id}:{name}"
            add(me, f"{KIND_KO[n.kind]}\n{_wrap(name)}", n.kind, depth[name] + 1)
            if n.kind == "Source":
                for t in n.topics:
                    add(f"{st.id}:in:{t}", f"토픽\n{_wrap(t)}", "topic", 0)
                    arrows.append((f"{st.id}:in:{t}", me, False))
                    feeds[me].append(f"{st.id}:in:{t}")
            for p in n.predecessors:
                if p in st.nodes:
                    feeds[me].append(f"{st.id}:{p}")
            for s in n.successors:
                if s in st.nodes:
                    arrows.append((me, f"{st.id}:{s}", False))
        for name, n in st.nodes.items():
            me = f"{st.id}:{name}"
            if n.kind == "Sink":
                for t in n.topics:
                    add(f"{st.id}:out:{t}", f"토픽\n{_wrap(t)}", "topic", last)
                    arrows.append((me, f"{st.id}:out:{t}", False))
                    feeds[f"{st.id}:out:{t}"].append(me)
            for s in n.stores:
                key = f"{st.id}:store:{s}"
                add(key, f"저장소\n{_wrap(s)}", "store", depth[name] + 1)
                arrows.append((me, key, True))
                feeds[key].append(me)
        rows, height = {}, 0
        for col in sorted(cols):
            order = []
            for i, (key, label, kind) in enumerate(cols[col]):
                placed = [rows[f] for f in feeds[key] if f in rows]
                order.append(((1 if kind == "store" else 0),
                              sum(placed) / len(placed) if placed else i, i, key, label, kind))
            for r, (_, _, _, key, label, kind) in enumerate(sorted(order)):
                rows[key] = r
                boxes.append((key, label, kind, col, row0 + r))
            height = max(height, len(order))
        title = f"서브토폴로지 {st.id}" + (" (글로벌 저장소)" if st.global_store else "")
        boxes.append((f"title{st.id}", title, "title", 0, row0 - 0.7))
        row0 += height + 1.3
    return boxes, arrows


def draw(topo, title=None, ax=None):
    """Draw a Topology (or the describe() text) left to right: topic boxes (grey), sources (blue),
    processors (yellow), sinks (green), state stores (pink, dashed link). Returns the figure."""
    if isinstance(topo, str):
        topo = parse(topo)
    boxes, arrows = _layout(topo)
    cols = max(b[3] for b in boxes) + 1
    rows = max(b[4] for b in boxes) + 1
    if ax is None:
        fig, ax = plots.figure(figsize=(max(6.0, 2.5 * cols), 0.5 + 0.9 * rows))
    else:
        plots.hangul_font()
        fig = ax.figure
    ax.set_xlim(-0.6, cols - 0.4)
    ax.set_ylim(rows - 0.3, -1.2)
    ax.axis("off")
    artists = {}
    for key, label, kind, col, row in boxes:
        if kind == "title":
            ax.text(-0.55, row, label, fontsize=10, fontweight="bold", va="center")
            continue
        style = "round,pad=0.4" if kind in ("topic", "store") else "square,pad=0.4"
        artists[key] = ax.text(col, row, label, ha="center", va="center", fontsize=8, zorder=3,
                               bbox=dict(boxstyle=style, fc=COLORS[kind], ec="#555555",
                                         ls="--" if kind == "store" else "-"))
    for a, b, dashed in arrows:
        if a in artists and b in artists:
            ax.annotate("", xy=(0.5, 1.0) if dashed else (0.0, 0.5), xycoords=artists[b],
                        xytext=(0.5, 0.0) if dashed else (1.0, 0.5), textcoords=artists[a], zorder=1,
                        arrowprops=dict(arrowstyle="-" if dashed else "->", color="#333333",
                                        ls="--" if dashed else "-", shrinkA=6, shrinkB=6))
    if title:
        ax.set_title(title)
    return fig
