#!/usr/bin/env python3
"""Reference renderer for chat-template tests: Python Jinja2 configured as Hugging Face
transformers configures it (transformers.utils.chat_template_utils._compile_jinja_template):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]),
tojson = json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys),
raise_exception and strftime_now as globals. strftime_now formats a fixed instant
(2024-07-26 00:00 UTC), Tenet's default, so outputs are reproducible.

Usage: render_reference.py CASES.json  ->  prints a JSON list, one entry per case:
  {"ok": true, "text": "..."} or {"ok": false, "error": "..."}.
CASES.json is a list of {"template": str, "context": object}.
Not for: anything but tests; needs python3-jinja2 (Debian package).
"""
import datetime
import json
import sys

from jinja2.exceptions import TemplateError
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def raise_exception(message):
    raise TemplateError(message)


def strftime_now(fmt):
    return datetime.datetime(2024, 7, 26, tzinfo=datetime.timezone.utc).strftime(fmt)


def main():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    out = []
    for case in cases:
        try:
            text = env.from_string(case["template"]).render(**case["context"])
            out.append({"ok": True, "text": text})
        except Exception as e:  # any failure is a result to compare, not a crash of the harness
            out.append({"ok": False, "error": f"{type(e).__name__}: {e}"})
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
