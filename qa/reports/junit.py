"""JUnit XML from the results: one test case per item and check, as CI systems read it.

Layout: ``<testsuites>`` holding one ``<testsuite>`` per item kind ("audio-qa.file",
"audio-qa.run", ...). Each check is a ``<testcase classname=KIND.ITEM-PATH name=CHECK-ID>``
(a round trip's classname ends in ``[CODEC]``);
stage checks of a run are named ``STAGE/CHECK-ID``; gate rows become cases of an
"audio-qa.gate" suite (regressed fails; missing fails when the gate's status is "fail"). Status mapping: fail -> ``<failure>``, error -> ``<error>``,
skip -> ``<skipped>``, warn -> passes with the message in ``<system-out>`` (a ``<failure>``
with ``strict=True``, as ``--strict`` makes warnings fail). An item without checks is one case.
Characters XML 1.0 cannot carry (NUL and other C0 controls in a file name) become U+FFFD.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from typing import Any, Iterable

from qa.reports.sections import verdict_class

_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render_junit(results: dict[str, Any], *, strict: bool = False) -> str:
    root = ET.Element("testsuites", name="audio-qa")
    suites: dict[str, ET.Element] = {}
    for item in results.get("items") or []:
        if not isinstance(item, dict):
            continue
        kind = _clean(item.get("kind", "unknown"))
        suite = suites.get(kind)
        if suite is None:
            suite = suites[kind] = ET.SubElement(root, "testsuite", name=f"audio-qa.{kind}")
        classname = f"{kind}.{_clean(item.get('path', ''))}"
        if item.get("codec") is not None:  # round trips of one source differ by codec only
            classname += f"[{_clean(item['codec'])}]"
        checks = [c for c in item.get("checks") or [] if isinstance(c, dict)]
        for c in checks:
            _case(suite, classname, _clean(c.get("id", "?")), c, strict)
        for s in item.get("stages") or []:
            if isinstance(s, dict):
                for c in s.get("checks") or []:
                    if isinstance(c, dict):
                        _case(suite, classname, f"{_clean(s.get('name', '?'))}/{_clean(c.get('id', '?'))}", c, strict)
        if not checks:
            _case(suite, classname, "item", {"status": item.get("status", "pass"),
                                             "message": "; ".join(map(str, item.get("notes") or []))}, strict)
    gate = results.get("gate")
    rows = _gate_rows(gate)
    if rows:
        suite = ET.SubElement(root, "testsuite", name="audio-qa.gate")
        for r in rows:
            name = f"{_clean(r.get('item', '?'))}/{_clean(r.get('metric', '?'))}"
            status = {"fail": "fail", "error": "error", "warn": "warn"}.get(verdict_class(r.get("verdict")), "pass")
            if r.get("verdict") == "missing" and isinstance(gate, dict) and gate.get("status") == "fail":
                status = "fail"  # the gate fails on a missing item unless --allow-missing
            msg = ", ".join(f"{k}={r[k]}" for k in ("baseline", "current", "delta", "verdict") if k in r)
            if r.get("message"):
                msg += f": {_clean(r['message'])}"
            _case(suite, "gate", name, {"status": status, "message": msg}, strict)
    for el in [root, *root]:
        _count(el)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(results: dict[str, Any], path: str | os.PathLike, *, strict: bool = False) -> None:
    from qa.atomic import write_atomic

    write_atomic(path, render_junit(results, strict=strict))


def _case(suite: ET.Element, classname: str, name: str, c: dict, strict: bool) -> None:
    tc = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
    status = str(c.get("status", ""))
    msg = _clean(c.get("message", ""))
    body = _body(c)
    if status == "fail" or (status == "warn" and strict):
        ET.SubElement(tc, "failure", message=msg, type=status).text = body
    elif status == "error":
        ET.SubElement(tc, "error", message=msg, type="error").text = body
    elif status == "skip":
        ET.SubElement(tc, "skipped", message=msg)
    elif status == "warn":
        ET.SubElement(tc, "system-out").text = f"WARN: {body}"
    elif status != "pass":
        ET.SubElement(tc, "error", message=f"unknown status {status!r}: {msg}", type="error").text = body


def _body(c: dict) -> str:
    lines = [_clean(c.get("message", ""))]
    if c.get("value") is not None or c.get("threshold") is not None:
        unit = f" {_clean(c['unit'])}" if c.get("unit") else ""
        lines.append(f"value: {c.get('value')}{unit}, threshold: {c.get('threshold')}{unit}")
    if c.get("hint"):
        lines.append(f"hint: {_clean(c['hint'])}")
    return "\n".join(lines)


def _count(suite: ET.Element) -> None:
    cases = list(suite.iter("testcase"))
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for t in cases if t.find("failure") is not None)))
    suite.set("errors", str(sum(1 for t in cases if t.find("error") is not None)))
    suite.set("skipped", str(sum(1 for t in cases if t.find("skipped") is not None)))
    suite.set("time", "0")


def _gate_rows(gate: Any) -> list[dict]:
    if isinstance(gate, list):
        return [r for r in gate if isinstance(r, dict)]
    if isinstance(gate, dict):
        for v in gate.values():
            if isinstance(v, list) and v and all(isinstance(r, dict) for r in v):
                return v
    return []


def _clean(v: Any) -> str:
    return _BAD_XML.sub("\ufffd", str(v))
