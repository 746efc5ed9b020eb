"""``grader review``: a local page where a TA decides what the grader could not, group by group.

Flask, bound to 127.0.0.1 only. Every request must carry the Host the server was
started on (a page elsewhere cannot reach it through DNS rebinding), and every
decision the page's token (a form elsewhere cannot post one). Every student
string is escaped by Jinja; math is MathML built from the grader's own trees,
with every text node escaped: no script, no CDN, nothing a student wrote runs.
A decision is committed to the gradebook before the page hears "saved".
"""
from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any, Optional

from flask import Flask, abort, jsonify, render_template_string, request
from markupsafe import Markup

from .. import overrides as ov
from ..errors import GraderError
from ..gradebook import Gradebook
from ..written.render import from_json, mathml
from .queue import Group, groups, progress

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:72em;color:#222}
table{border-collapse:collapse;width:100%} td,th{border-bottom:1px solid #ddd;padding:.35em .5em;text-align:left;vertical-align:top}
.done{color:#777} .needs{font-weight:600} .muted{color:#777} .bad{color:#a40000} .ok{color:#146c2e}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f6f6;padding:.5em;max-height:18em;overflow:auto}
.member{border:1px solid #ddd;border-radius:6px;padding:.6em .8em;margin:.6em 0}
form{background:#f0f4ff;padding:.8em;border-radius:6px;position:sticky;top:0}
input[type=number]{width:6em} textarea{width:100%;height:3em} math{font-size:1.1em}
kbd{border:1px solid #aaa;border-radius:3px;padding:0 .3em;font-size:.85em}
"""

QUEUE = """<!doctype html><html><head><meta charset="utf-8"><title>a1grader review</title>
<style>{{ style }}</style></head><body>
<h1>Review: {{ db }}, assignment {{ assignment }}</h1>
<p id="progress" data-done="{{ prog.done }}" data-left="{{ prog.left }}"><b>{{ prog.done }}</b> answers decided,
<b>{{ prog.left }}</b> left ({{ prog.groups_left }} groups). <span class="muted">Press <kbd>Enter</kbd> to open the
first group left, <kbd>j</kbd>/<kbd>k</kbd> to move.</span></p>
<table id="queue"><tr><th>part</th><th>students</th><th>grader</th><th>answer (first of the group)</th><th>why a person</th><th></th></tr>
{% for g in needing %}<tr class="{{ 'done' if g.done else 'needs' }}" data-group="{{ g.id }}" data-part="{{ g.part_id }}" data-size="{{ g.members|length }}" data-done="{{ g.done|int }}">
<td>{{ g.title }}{% if g.changed %} <span class="bad">(answer changed since decided)</span>{% endif %}</td>
<td>{{ g.members|length }}</td><td>{{ verdict(g.first) }}</td><td>{{ answer(g.first) }}</td>
<td>{{ reason(g.first)|truncate(160) }}{% if not g.written %}<div class="muted what">{{ what(g) }}</div>{% endif %}</td><td><a class="open" href="/group/{{ g.id }}">{{ 'done: change' if g.done else 'review' }}</a></td></tr>
{% else %}<tr><td colspan="6" class="muted">Nothing needs a person.</td></tr>{% endfor %}
</table>
{% if similar %}<h2>Similar submissions, for a person to look at</h2><table id="similar">
{% for p in similar %}<tr><td>{{ "%.2f"|format(p.score) }}</td><td>{{ p.a }} ~ {{ p.b }}</td>
<td class="muted">code {{ "%.2f"|format(p.code) }}{% if p.shared_mistakes %}; the same mistakes in {{ p.shared_mistakes|map(attribute="part")|join(", ") }}{% endif %}</td></tr>{% endfor %}
</table><p class="muted">From the last <code>grader similar</code>: more alike than independent work usually is, not a finding.</p>{% endif %}
<details><summary>Other answer groups ({{ others|length }}): for regrades</summary><table id="others">
{% for g in others %}<tr data-group="{{ g.id }}" data-part="{{ g.part_id }}"><td>{{ g.title }}</td><td>{{ g.members|length }}</td><td>{{ verdict(g.first) }}</td>
<td>{{ answer(g.first) }}{% if not g.written %}<div class="muted what">{{ what(g) }}</div>{% endif %}</td>
<td><a href="/group/{{ g.id }}">open</a></td></tr>{% endfor %}</table></details>
<script>
const links=[...document.querySelectorAll('#queue a.open')];let at=Math.max(0,links.findIndex(a=>a.textContent==='review'));
if(links[at])links[at].focus();
document.addEventListener('keydown',e=>{if(e.key==='j'&&at<links.length-1)links[++at].focus();
if(e.key==='k'&&at>0)links[--at].focus();});
</script></body></html>"""

GROUP = """<!doctype html><html><head><meta charset="utf-8"><title>{{ g.title }}: review</title>
<meta name="review-token" content="{{ token }}"><style>{{ style }}</style></head><body>
<p><a href="/">queue</a> · <span id="progress">{{ prog.done }} decided, {{ prog.left }} left</span></p>
<h1>{{ g.title }}: {{ g.members|length }} student{{ 's' if g.members|length != 1 }}{% if g.changed %}
whose answer changed since a TA decided it{% endif %}</h1>
{% if not g.written %}<p class="what">{{ what(g) }}</p>{% endif %}
<p>The grader: <b>{{ verdict(g.first) }}</b>, {{ g.first.part.score }}/{{ g.max_score }}. {{ reason(g.first) }}</p>
{% if expected(g.first) %}<p>Expected result: {{ expected(g.first) }}</p>{% endif %}
<form id="decide" data-group="{{ g.id }}" data-versions='{{ versions }}' data-max="{{ g.max_score }}">
<label>Points for each of the {{ g.members|length }} (of {{ g.max_score }}):
<input id="points" type="number" min="0" max="{{ g.max_score }}" step="0.25" autofocus value="{{ current_points }}"></label>
<button type="button" id="full">Correct: full points <kbd>f</kbd></button>
<button type="button" id="zero">Incorrect: 0 <kbd>z</kbd></button>
<label>Comment for the students (optional):<textarea id="comment">{{ current_comment }}</textarea></label>
{% set n_decided = g.decided|length %}{% set n_open = g.members|length - n_decided %}
{% if n_decided %}<p id="already" data-count="{{ n_decided }}" class="bad">{{ n_decided }} of these {{ g.members|length }}
already {{ 'has' if n_decided == 1 else 'have' }} a current decision ({{ deciders(g) }}): they keep it unless you tick
<label><input type="checkbox" id="replace"> replace those {{ n_decided }} decisions too</label>.</p>{% endif %}
<button type="submit" id="apply" data-open="{{ n_open }}" data-all="{{ g.members|length }}">Apply to
<span id="count">{{ 'the %d undecided'|format(n_open) if n_decided else 'all %d'|format(n_open) }}</span> <kbd>Enter</kbd></button>
<span id="status" role="status"></span></form>
{% for m in g.members %}<div class="member" data-student="{{ m.student }}">
<b>{{ m.student }}</b>{% if m.override %} · <span class="{{ 'ok' if m.decided else 'bad' }}">decided by {{ m.override.by }}
({{ m.override.at }}): {{ m.override.points_for(g.max_score) }}{% if not m.decided %}, for an earlier answer (stale){% endif %}</span>{% endif %}
<div>Result: {{ answer(m) }}</div>
{% if m.part.written and m.part.written.result %}<div class="muted">as read: {{ m.part.written.result|truncate(600) }}</div>{% endif %}
{% if m.part.written and m.part.written.reason %}<div class="bad">{{ m.part.written.reason }}</div>
{% else %}{% for c in failing(m) %}<div class="bad">✗ {{ c.id }}: {{ c.message }}</div>{% endfor %}{% endif %}
{% if m.part.source %}<pre class="source">{{ m.part.source }}</pre>{% endif %}
{% if m.part.written and m.part.written.text %}<details><summary>the part as written</summary><pre class="text">{{ m.part.written.text }}</pre></details>{% endif %}
</div>{% endfor %}
<script>
const form=document.getElementById('decide'),points=document.getElementById('points'),status=document.getElementById('status');
let verdict=null;const replace=document.getElementById('replace'),apply=document.getElementById('apply');
if(replace)replace.onchange=()=>{document.getElementById('count').textContent=replace.checked?
 'all '+apply.dataset.all+' (replacing '+document.getElementById('already').dataset.count+')':'the '+apply.dataset.open+' undecided'};
function send(){const body={group:form.dataset.group,comment:document.getElementById('comment').value,
 versions:JSON.parse(form.dataset.versions),replace:!!(replace&&replace.checked)};
 if(verdict){body.verdict=verdict}else{if(points.value===''){status.textContent='give points or a verdict';return}body.points=parseFloat(points.value)}
 status.textContent='saving…';
 fetch('/decide',{method:'POST',headers:{'Content-Type':'application/json',
  'X-Review-Token':document.querySelector('meta[name=review-token]').content},body:JSON.stringify(body)})
 .then(r=>r.json().then(j=>[r.status,j])).then(([code,j])=>{if(code===200){status.textContent='saved';
  status.className='ok';window.location=j.next}else{status.textContent=j.error;status.className='bad'}})
 .catch(e=>{status.textContent='not saved: '+e;status.className='bad'});}
form.addEventListener('submit',e=>{e.preventDefault();verdict=null;send()});
document.getElementById('full').onclick=()=>{verdict='correct';send()};
document.getElementById('zero').onclick=()=>{verdict='incorrect';send()};
document.addEventListener('keydown',e=>{if(e.target.tagName==='TEXTAREA'||e.target.tagName==='INPUT')return;
 if(e.key==='f'){verdict='correct';send()}if(e.key==='z'){verdict='incorrect';send()}});
</script></body></html>"""


def create_app(db_path: Path, token: Optional[str] = None, assignment: Optional[str] = None) -> Flask:
    """The review app for one assignment's rows of a gradebook (default: the bundled rubric's assignment);
    ``app.config["HOSTS"]`` must be set to the served host:port."""
    app = Flask(__name__)
    app.config.update(DB=Path(db_path), TOKEN=token or secrets.token_urlsafe(24), HOSTS=set(), ASSIGNMENT=assignment)

    @app.before_request
    def _host_only():
        if request.host not in app.config["HOSTS"]:
            abort(403, "unexpected Host header")

    def book() -> Gradebook:
        return Gradebook(app.config["DB"], app.config["ASSIGNMENT"])

    helpers = dict(style=Markup(STYLE), answer=_answer, verdict=_verdict, reason=_reason, expected=_expected,
                   failing=_failing, what=_what, deciders=_deciders)

    @app.get("/")
    def queue():
        with book() as b:
            found = groups(b)
            similar = b.similar()[:100]
        needing = [g for g in found if g.needs]
        others = [g for g in found if not g.needs]
        return render_template_string(QUEUE, db=app.config["DB"].name, assignment=b.assignment, needing=needing,
                                      others=others, prog=progress(found), similar=similar, **helpers)

    @app.get("/group/<gid>")
    def group(gid: str):
        with book() as b:
            found = groups(b)
        g = _find(found, gid)
        versions = json.dumps({m.student: (m.override.version if m.override else 0) for m in g.members})
        first = g.first.override
        return render_template_string(GROUP, g=g, token=app.config["TOKEN"], versions=versions,
                                      prog=progress(found), current_points="" if first is None or first.points is None
                                      else "%g" % first.points, current_comment=first.comment if first else "",
                                      **helpers)

    @app.post("/decide")
    def decide():
        if not secrets.compare_digest(request.headers.get("X-Review-Token", ""), app.config["TOKEN"]):
            abort(403, "missing or wrong review token")
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or not isinstance(data.get("versions"), dict):
            return jsonify(error="malformed decision"), 400
        with book() as b:
            found = groups(b)
            g = _find(found, str(data.get("group", "")))
            students = {m.student for m in g.members}
            if set(data["versions"]) != students:
                return jsonify(error="the group changed since the page was loaded: reload"), 409
            points = data.get("points")
            if points is not None and (not isinstance(points, (int, float)) or not 0 <= points <= g.max_score):
                return jsonify(error="points must be between 0 and %g" % g.max_score), 400
            for m in g.members:     # the page was made before a colleague decided: say so, whatever is ticked
                if m.override is not None and int(data["versions"][m.student]) != m.override.version:
                    return jsonify(error="%s was decided meanwhile by %s at %s: reload and decide again"
                                   % (m.student, m.override.by, m.override.at)), 409
            # A current decision is replaced only when the TA ticked "replace" (the page said how many).
            targets = g.members if data.get("replace") is True else [m for m in g.members if not m.decided]
            if not targets:
                return jsonify(error="all %d already have a current decision: tick 'replace' to change them"
                               % len(g.members)), 409
            try:
                ov.decide_many(b.db, b.assignment, [(m.student, g.part_id, m.part.get("fingerprint", ""),
                                                     int(data["versions"][m.student])) for m in targets],
                               points, data.get("verdict"), str(data.get("comment", ""))[:2000], app.config.get("BY"))
            except ov.Conflict as exc:
                return jsonify(error=str(exc)), 409
            except GraderError as exc:
                return jsonify(error=str(exc)), 400
            after = groups(b)
        nxt = next((x for x in after if x.needs and not x.done), None)
        return jsonify(ok=True, decided=len(targets), kept=len(g.members) - len(targets), next="/group/%s" % nxt.id if nxt else "/")

    return app


def _find(found, gid: str) -> Group:
    for g in found:
        if g.id == gid:
            return g
    abort(404, "no such group (the gradebook changed?): go back to the queue")


def _tree_math(tree: Any) -> Optional[Markup]:
    if not tree:
        return None
    try:
        return Markup(mathml(from_json(tree)))
    except (ValueError, TypeError, IndexError, RecursionError):
        return None


def _answer(member) -> Any:
    part = member.part
    written = part.get("written") or {}
    shown = _tree_math(written.get("final_tree"))
    if shown is not None:
        return shown
    if written.get("result"):
        return written["result"]
    if part.get("verdict") == "missing":
        return "(missing)"
    return part.get("function") or "(no answer found)"


def _expected(member) -> Any:
    written = member.part.get("written") or {}
    return _tree_math(written.get("expected_tree")) or written.get("expected")


def _verdict(member) -> str:
    part = member.part
    return (part.get("verdict") or part.get("status") or "").replace("_", " ")


def _reason(member) -> str:
    part = member.part
    written = part.get("written") or {}
    if written.get("reason"):
        return written["reason"]
    failing = _failing(member)
    return failing[0]["message"] if failing else ""


def _what(group: Group) -> str:
    """What sets a code group apart from the part's other groups: its failing checks and named mistakes."""
    failing = [c["id"] for c in _failing(group.first)]
    mistakes = [m.get("id", "") for m in group.first.part.get("mistakes", []) or []]
    text = "fails: " + ", ".join(failing) if failing else "no failing check"
    return text + ("; mistakes: " + ", ".join(mistakes) if mistakes else "")


def _deciders(group: Group) -> str:
    """'2 by Ana: 1/6, 1 by Ben: 6/6': who decided the members that have a current decision."""
    from collections import Counter
    counts = Counter((m.override.by, m.override.points_for(group.max_score)) for m in group.decided)
    return ", ".join("%d by %s: %g/%g" % (n, by, p, group.max_score) for (by, p), n in counts.most_common())


def _failing(member) -> list:
    return [c for c in member.part.get("checks", []) if not c.get("passed")]


def serve(db_path: Path, port: int = 0, by: Optional[str] = None, opened=None, assignment: Optional[str] = None) -> None:
    """Serve on 127.0.0.1:port (0: any free port) until Ctrl-C; ``opened(url)`` is told the address."""
    from werkzeug.serving import make_server
    if not Path(db_path).is_file():
        raise GraderError("gradebook not found: %s" % db_path)
    app = create_app(Path(db_path), assignment=assignment)
    app.config["BY"] = ov.who(by)
    server = make_server("127.0.0.1", port, app, threaded=True)
    real = server.server_port
    app.config["HOSTS"] = {"127.0.0.1:%d" % real, "localhost:%d" % real}
    url = "http://127.0.0.1:%d/" % real
    if opened is not None:
        opened(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
