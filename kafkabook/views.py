"""Pure drawing for the widgets: plain data in, an HTML string out (inline styles only, no scripts).

Nothing here talks to Kafka. The widgets (kafkabook.widgets) read the broker and hand the
results to these functions; the same strings go into an ipywidgets.HTML (saved in the widget
state) and into an ordinary IPython.display.HTML output (`.snapshot()`), so an executed
notebook shows the drawing in the static site even without widget JavaScript.

Data shapes:
    record   {"partition", "offset", "key" (str|None), "value" (str), "headers" [(name, str)], "timestamp" (ms),
              optional "now": partition the default partitioner would pick for this key today}
    members  [{"name", "member_id", "partitions": [int]}]
"""
import html
from datetime import datetime

#: fonts that render Hangul on Linux, macOS and Windows
FONT = "'Noto Sans KR','Noto Sans CJK KR','Apple SD Gothic Neo','Malgun Gothic',sans-serif"
MONO = "'D2Coding','Noto Sans Mono CJK KR',ui-monospace,monospace"
#: key colours (Tableau 10 + 2), given to keys in the order they first appear
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
           "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#8c564b"]
#: partition colours (distinct from key colours' order so the two are not confused)
PARTITION_PALETTE = ["#2f6690", "#d1495b", "#66a182", "#edae49", "#8e6c8a", "#00798c", "#f26419", "#6d597a"]
NULL_COLOUR = "#9aa0a6"

_BOX = f"font-family:{FONT};font-size:13px;color:#222;line-height:1.45;max-width:100%"
_STATUS = {  # background, text and bar colour; no emoji, so every font draws it
    "info": ("#f1f3f4", "#3c4043", "#9aa0a6"),
    "ok": ("#e6f4ea", "#137333", "#34a853"),
    "error": ("#fce8e6", "#c5221f", "#d93025"),
    "busy": ("#fef7e0", "#b06000", "#f9ab00"),
}
LAG_COLOUR = "#f6aea9"


def esc(text):
    return html.escape(str(text), quote=True)


def short(text, limit=24):
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def key_label(key):
    return "null" if key is None else (key if key != "" else "(빈 문자열)")


def assign_colours(keys):
    """{key: colour} for keys in the order given (first appearance); None (null key) is grey."""
    colours = {None: NULL_COLOUR}
    for key in keys:
        if key not in colours:
            colours[key] = PALETTE[(len(colours) - 1) % len(PALETTE)]
    return colours


def partition_colour(partition):
    return PARTITION_PALETTE[partition % len(PARTITION_PALETTE)]


def fmt_time(ms):
    if ms is None or ms < 0:
        return "-"
    t = datetime.fromtimestamp(ms / 1000)
    return t.strftime("%H:%M:%S.") + f"{ms % 1000:03d}"


def frame(title, body, status=None):
    """A titled box around `body` with an optional status line."""
    head = f'<div style="font-weight:700;font-size:15px;margin-bottom:6px">{esc(title)}</div>'
    return f'<div style="{_BOX};border:1px solid #dadce0;border-radius:8px;padding:10px 12px">{head}{status or ""}{body}</div>'


def status_html(message, kind="info"):
    """One status line: kind is info | ok | error | busy. Newlines in `message` are kept."""
    if not message:
        return ""
    bg, fg, bar = _STATUS.get(kind, _STATUS["info"])
    text = esc(message).replace("\n", "<br>")
    return (f'<div class="kafkabook-status kafkabook-{kind}" style="font-family:{FONT};font-size:13px;background:{bg};'
            f'color:{fg};border-left:4px solid {bar};border-radius:4px;padding:6px 10px;margin:4px 0;'
            f'white-space:normal">{text}</div>')


def chip(text, colour, title="", dashed=False, small=None):
    border = "1px dashed #5f6368" if dashed else f"1px solid {colour}"
    top = f'<div style="font-size:10px;opacity:.9">{esc(small)}</div>' if small is not None else ""
    return (f'<div title="{esc(title)}" style="display:inline-block;background:{colour};color:#fff;border:{border};'
            f'border-radius:5px;padding:2px 6px;margin:2px;font-size:12px;line-height:1.25;text-align:center;'
            f'min-width:26px;text-shadow:0 0 2px rgba(0,0,0,.45)">{top}<div>{esc(text)}</div></div>')


def table(headers, rows, align=None):
    align = align or ["left"] * len(headers)
    th = "".join(f'<th style="text-align:{a};padding:3px 8px;border-bottom:2px solid #dadce0;background:#f8f9fa;'
                 f'font-weight:600">{esc(h)}</th>' for h, a in zip(headers, align))
    body = "".join("<tr>" + "".join(f'<td style="text-align:{a};padding:3px 8px;border-bottom:1px solid #eee">{c}</td>'
                                    for c, a in zip(row, align)) + "</tr>" for row in rows)
    return (f'<table style="border-collapse:collapse;font-family:{FONT};font-size:12.5px;margin:6px 0">'
            f"<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>")


# ------------------------------------------------------------------ 1. record sender

def prediction_html(topic, key, partitions, partition):
    """What the default partitioner will do with `key` (None = null key) on a topic with `partitions` partitions."""
    if partitions is None:
        return ""
    if key is None:
        text = (f"키가 없으므로(null) 해시를 쓰지 않습니다. 스티키 파티셔너가 지금 채우는 배치의 파티션을 고르고, "
                f"배치가 바뀌면 다른 파티션으로 옮겨 갑니다 (토픽 '{topic}'의 파티션 {partitions}개 중 하나).")
        return status_html(text, "info")
    text = (f"예측: 키 '{key}' → murmur2(키 바이트) & 0x7fffffff % {partitions} = 파티션 {partition}. "
            "같은 키는 파티션 수가 그대로인 한 언제나 이 파티션으로 갑니다.")
    return status_html(text, "info")


def history_html(rows, limit=15):
    """Table of sent records: {"n","key","value","headers","predicted","partition","offset","timestamp"}."""
    if not rows:
        return '<div style="color:#5f6368;margin:6px 0">아직 보낸 레코드가 없습니다.</div>'
    shown = rows[-limit:]
    colours = assign_colours(r["key"] for r in rows)
    body = []
    for r in reversed(shown):
        key = chip(short(key_label(r["key"]), 16), colours[r["key"]], dashed=r["key"] is None)
        hdr = ", ".join(f"{esc(k)}={esc(short(v, 12))}" for k, v in r["headers"]) or "-"
        pred = "-" if r["predicted"] is None else r["predicted"]
        ok = "" if r["predicted"] is None else (" ✓" if r["predicted"] == r["partition"] else " ✗")
        body.append([str(r["n"]), key, esc(short(r["value"], 28)), hdr, f"{pred}",
                     f'<b>{r["partition"]}</b>{ok}', f'<b>{r["offset"]}</b>', fmt_time(r["timestamp"])])
    more = (f'<div style="color:#5f6368;font-size:12px">최근 {limit}개만 보입니다 (모두 {len(rows)}개).</div>'
            if len(rows) > limit else "")
    return table(["#", "키", "값", "헤더", "예측 파티션", "파티션", "오프셋", "타임스탬프"], body,
                 ["right", "left", "left", "left", "right", "right", "right", "left"]) + more


def sender_html(topic, prediction, rows, status=""):
    """The sender's history in a titled box (prediction: optional prediction_html)."""
    body = (f'<div style="margin-bottom:4px">토픽 <b>{esc(topic)}</b> · 보낼 때마다 브로커가 돌려준 '
            "RecordMetadata(파티션, 오프셋, 타임스탬프)를 표에 적습니다 (최근 것이 위).</div>"
            f"{prediction}{history_html(rows)}")
    return frame("키 있는 레코드 보내기", body, status)


# ------------------------------------------------------------------ 2. partition placement

def placement_html(topic, lanes, ends=None, partitions_now=None, limit=40, status=""):
    """One lane per partition with the records read back from the broker, coloured by key.

    lanes: {partition: [record]} in offset order; ends: {partition: end offset};
    partitions_now: the topic's partition count now. A record may carry "now": the partition a send of its key
    would pick today; records whose "now" differs from their partition get a ⇢ mark.
    """
    every = sorted((r for recs in lanes.values() for r in recs), key=lambda r: (r["timestamp"], r["partition"], r["offset"]))
    colours = assign_colours(r["key"] for r in every)
    total = sum(len(v) for v in lanes.values())
    n = partitions_now or len(lanes)
    out = [f'<div style="margin-bottom:6px">토픽 <b>{esc(topic)}</b> · 파티션 <b>{n}</b>개 · '
           f"브로커에 있는 레코드 <b>{total}</b>개 (파티션마다 오프셋 순서, 색은 키)</div>"]
    moved = 0
    for p in sorted(lanes):
        recs = lanes[p]
        end = (ends or {}).get(p)
        cells = []
        if len(recs) > limit:
            cells.append(f'<div style="align-self:center;color:#5f6368;font-size:11px;margin:0 4px">'
                         f"앞의 {len(recs) - limit}개 생략 …</div>")
        for r in recs[-limit:]:
            note = ""
            now = r.get("now")
            if now is not None:
                if now != p:
                    note = f" ⇢P{now}"
                    moved += 1
            title = (f"파티션 {p} · 오프셋 {r['offset']} · 키 {key_label(r['key'])} · 값 {r['value']}"
                     + (f" · 헤더 {r['headers']}" if r["headers"] else "") + f" · {fmt_time(r['timestamp'])}")
            cells.append(chip(short(key_label(r["key"]), 10) + note, colours[r["key"]], title=title,
                              dashed=r["key"] is None, small=f"#{r['offset']}"))
        if not recs:
            cells.append('<div style="align-self:center;color:#9aa0a6;font-size:12px;margin-left:6px">(비어 있음)</div>')
        end_txt = f"끝 오프셋 {end}" if end is not None else ""
        out.append(
            '<div style="display:flex;align-items:stretch;margin:3px 0">'
            f'<div style="width:44px;flex:none;font-weight:700;display:flex;align-items:center;'
            f'color:{partition_colour(p)}">P{p}</div>'
            '<div style="flex:1;display:flex;flex-wrap:wrap;align-items:center;background:#f6f8fa;'
            f'border-left:4px solid {partition_colour(p)};border-radius:4px;padding:3px;min-height:40px">{"".join(cells)}</div>'
            f'<div style="width:92px;flex:none;font-size:11px;color:#5f6368;display:flex;align-items:center;'
            f'justify-content:flex-end">{end_txt}</div></div>')
    # legend: each key and the partitions its records are in
    where = {}
    for r in every:
        where.setdefault(r["key"], set()).add(r["partition"])
    if where:
        items = []
        for key in colours:
            if key not in where:
                continue
            parts = ", ".join(f"P{q}" for q in sorted(where[key]))
            items.append(f'<span style="white-space:nowrap;margin-right:10px">'
                         f'{chip(short(key_label(key), 14), colours[key], dashed=key is None)} → {parts}</span>')
        out.append('<div style="margin-top:6px;font-size:12px">키별 파티션: ' + "".join(items) + "</div>")
    if moved:
        out.append(status_html(f"⇢ 표시가 붙은 레코드 {moved}개: 파티션이 {n}개로 바뀐 지금 같은 키를 보내면 "
                               "표시된 파티션으로 갑니다. 이미 저장된 레코드는 옮겨지지 않습니다.", "info"))
    return frame("파티션 배치", "".join(out), status)


# ------------------------------------------------------------------ 3. ordering

def _sequence_row(label, items):
    cells = "".join(chip(str(i["seq"]), partition_colour(i["partition"]), small=f"P{i['partition']}",
                         title=f"번호 {i['seq']} · 키 {key_label(i.get('key'))} · 파티션 {i['partition']} · "
                               f"오프셋 {i['offset']}") for i in items)
    return (f'<div style="display:flex;align-items:center;margin:2px 0"><div style="width:64px;flex:none;'
            f'font-size:12px;color:#5f6368">{esc(label)}</div><div style="display:flex;flex-wrap:wrap">{cells}</div></div>')


def ordering_panel(result):
    """One topic's run: {"topic","partitions","produced","consumed","per_partition_ok","global_ok"}."""
    out = [f'<div style="font-weight:600;margin-bottom:2px">{esc(result["topic"])} '
           f'<span style="font-weight:400;color:#5f6368">(파티션 {result["partitions"]}개)</span></div>',
           _sequence_row("보낸 순서", result["produced"]), _sequence_row("읽은 순서", result["consumed"])]
    by_part = {}
    for i in result["consumed"]:
        by_part.setdefault(i["partition"], []).append(i)
    for p in sorted(by_part):
        out.append(_sequence_row(f"P{p} 안", by_part[p]))
    pp = result["per_partition_ok"]
    gl = result["global_ok"]
    out.append(status_html("파티션 안의 순서: " + ("보낸 순서 그대로 ✓" if pp else "뒤바뀜 ✗"), "ok" if pp else "error"))
    out.append(status_html("토픽 전체의 순서: " + ("보낸 순서 그대로 ✓" if gl else "보낸 순서와 다름 ✗"), "ok" if gl else "error"))
    return f'<div style="flex:1;min-width:280px;border:1px solid #eee;border-radius:6px;padding:6px;margin:3px">{"".join(out)}</div>'


def ordering_html(results, status=""):
    if not results:
        body = '<div style="color:#5f6368">버튼을 누르면 번호를 붙인 레코드를 보내고 컨슈머로 다시 읽습니다.</div>'
    else:
        body = ('<div style="margin-bottom:4px">번호 1부터 차례로 보낸 레코드를 진짜 컨슈머가 읽어 온 순서입니다. '
                "칸의 색과 위의 작은 글자는 파티션입니다.</div>"
                '<div style="display:flex;flex-wrap:wrap">' + "".join(ordering_panel(r) for r in results) + "</div>")
    return frame("순서: 파티션 안에서만 지켜진다", body, status)


# ------------------------------------------------------------------ 4. consumer group

def members_panel(title, snapshot, partitions):
    """Members and their partitions. snapshot: {"state", "members": [{"name","member_id","partitions"}]}."""
    if snapshot is None:
        return ""
    boxes = []
    for m in snapshot["members"]:
        parts = "".join(chip(f"P{p}", partition_colour(p)) for p in m["partitions"])
        idle = ('<span style="color:#c5221f;font-size:12px">유휴: 할당된 파티션 없음</span>' if not m["partitions"] else "")
        boxes.append(f'<div title="{esc(m["member_id"])}" style="border:1px solid #dadce0;border-radius:6px;padding:4px 6px;'
                     f'margin:3px;min-width:110px;background:{"#fff" if m["partitions"] else "#fafafa"}">'
                     f'<div style="font-weight:600;font-size:12.5px">{esc(m["name"])}</div>{parts}{idle}</div>')
    if not boxes:
        boxes.append('<div style="color:#5f6368;margin:4px">멤버 없음</div>')
    assigned = [p for m in snapshot["members"] for p in m["partitions"]]
    unassigned = [p for p in range(partitions) if p not in assigned]
    note = (f'<div style="font-size:12px;color:#c5221f">맡은 컨슈머가 없는 파티션: {", ".join(f"P{p}" for p in unassigned)}</div>'
            if unassigned and snapshot["members"] else "")
    return (f'<div style="flex:1;min-width:240px;margin:3px"><div style="font-size:12.5px;color:#5f6368">{esc(title)} · '
            f'그룹 상태 <b>{esc(snapshot["state"])}</b> · 멤버 {len(snapshot["members"])}명</div>'
            f'<div style="display:flex;flex-wrap:wrap">{"".join(boxes)}</div>{note}</div>')


def lag_table(rows):
    """rows: [{"partition","owner","committed","end","lag"}] (committed/lag None when nothing committed)."""
    top = max([r["end"] for r in rows] + [1])
    body = []
    for r in rows:
        committed = "커밋 없음" if r["committed"] is None else str(r["committed"])
        lag = "-" if r["lag"] is None else str(r["lag"])
        done = 0 if r["committed"] is None else r["committed"]
        bar = (f'<div style="width:160px;height:10px;background:#e8eaed;border-radius:3px;position:relative">'
               f'<div style="position:absolute;left:0;top:0;height:10px;width:{160 * r["end"] / top:.0f}px;'
               f'background:{LAG_COLOUR};border-radius:3px"></div>'
               f'<div style="position:absolute;left:0;top:0;height:10px;width:{160 * done / top:.0f}px;'
               f'background:{partition_colour(r["partition"])};border-radius:3px"></div></div>')
        body.append([f'<b style="color:{partition_colour(r["partition"])}">P{r["partition"]}</b>',
                     esc(r["owner"] or "-"), committed, str(r["end"]), f"<b>{lag}</b>", bar])
    return table(["파티션", "담당 컨슈머", "커밋된 오프셋", "끝 오프셋", "랙", "커밋까지(파티션 색) · 랙(분홍)"], body,
                 ["left", "left", "right", "right", "right", "left"])


def group_html(group, topic, partitions, before, after, rows, status=""):
    head = (f'<div style="margin-bottom:4px">그룹 <b>{esc(group)}</b> · 토픽 <b>{esc(topic)}</b> (파티션 {partitions}개) · '
            "브로커에게 물어 온 멤버와 할당, 커밋된 오프셋입니다. 랙 = 끝 오프셋 − 커밋된 오프셋.</div>")
    panels = ""
    if before is not None:
        panels += members_panel("리밸런싱 전", before, partitions)
        panels += '<div style="align-self:center;font-size:22px;color:#5f6368;margin:0 4px">→</div>'
    panels += members_panel("리밸런싱 후" if before is not None else "지금", after, partitions)
    body = head + f'<div style="display:flex;flex-wrap:wrap;align-items:flex-start">{panels}</div>' + lag_table(rows)
    return frame("컨슈머 그룹", body, status)
