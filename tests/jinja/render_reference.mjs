// Reference renderer for chat-template tests: Hugging Face's own JavaScript Jinja
// (@huggingface/jinja, as transformers.js uses it; it sets trim_blocks and lstrip_blocks itself).
// strftime_now is replaced by one formatting the fixed instant 2024-07-26 00:00 UTC, Tenet's
// default, so outputs are reproducible.
//
// Usage: node render_reference.mjs CASES.json  ->  prints a JSON list, one entry per case:
//   {"ok": true, "text": "..."} or {"ok": false, "error": "..."}.
// CASES.json is a list of {"template": str, "context": object}. Resolves @huggingface/jinja from
// $TENET_NODE_MODULES, else tests/node/node_modules next to this file.
// Not for: anything but tests.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = process.env.TENET_NODE_MODULES || join(here, "..", "node", "node_modules");
const { Template, Environment } = await import(pathToFileURL(join(modules, "@huggingface", "jinja", "dist", "index.js")).href);

const kMonths = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
function strftimeNow(format) {
  // Only the directives chat templates use; the date is fixed (see above).
  return format.replace(/%[dbBYmy%]/g, (d) =>
    ({ "%d": "26", "%b": kMonths[6], "%B": "July", "%Y": "2024", "%m": "07", "%y": "24", "%%": "%" })[d],
  );
}

// Template.render declares its own strftime_now (the live clock) before the context's, and
// redeclaring is an error; let the context's replace it.
const declare = Environment.prototype.set;
Environment.prototype.set = function (name, value) {
  if (name === "strftime_now") this.variables.delete(name);
  return declare.call(this, name, value);
};

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = cases.map(({ template, context }) => {
  try {
    const text = new Template(template).render({ strftime_now: strftimeNow, ...context });
    return { ok: true, text };
  } catch (e) {
    return { ok: false, error: String(e && e.message ? e.message : e) };
  }
});
process.stdout.write(JSON.stringify(out));
