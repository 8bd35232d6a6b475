// The report's style sheet. See report_style.h.
#include "report_style.h"

namespace tenet::eval::report_detail {

namespace {

constexpr char kStyle[] = R"css(
:root{--fg:#1f2937;--muted:#6b7280;--line:#e5e7eb;--soft:#f8fafc;--bg:#f4f5f7;--accent:#2563eb}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans","DejaVu Sans",sans-serif;font-variant-numeric:tabular-nums}
.page{max-width:1360px;margin:0 auto;padding:28px 28px 40px}
header.top{margin:4px 0 18px}
.eyebrow{font-size:12px;font-weight:700;letter-spacing:.08em;text-transform:uppercase;color:var(--accent)}
h1{font-size:28px;line-height:1.2;margin:6px 0;font-weight:700;letter-spacing:-.01em;overflow-wrap:anywhere}
h2{font-size:19px;line-height:1.3;margin:0 0 4px;font-weight:650}
h3{font-size:14px;margin:22px 0 8px;font-weight:650}
figure h3{margin:0 0 2px}
.lede{color:var(--muted);margin:0;overflow-wrap:anywhere}
nav.toc{display:flex;flex-wrap:wrap;gap:6px;margin-top:14px}
nav.toc a{font-size:13px;color:#374151;text-decoration:none;background:#fff;border:1px solid var(--line);border-radius:999px;padding:3px 12px}
nav.toc a:hover{border-color:#9ca3af;color:#111827}
section{background:#fff;border:1px solid var(--line);border-radius:12px;padding:22px 24px;margin:0 0 18px;box-shadow:0 1px 2px rgba(16,24,40,.04)}
p.note{color:var(--muted);font-size:13.5px;margin:2px 0 14px;max-width:92ch}
.small{font-size:12.5px;color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(270px,1fr));gap:14px;margin:12px 0 6px}
.card{border:1px solid var(--line);border-radius:10px;padding:14px 16px;background:var(--soft);overflow-wrap:anywhere}
.card .label{font-size:11.5px;font-weight:700;color:var(--muted);text-transform:uppercase;letter-spacing:.06em}
.card .label .as-is{text-transform:none;letter-spacing:.01em}
.card .kpi{font-size:30px;font-weight:700;line-height:1.15;margin:6px 0 4px;letter-spacing:-.01em}
.card .kpi small{font-size:13px;font-weight:500;color:var(--muted);margin-left:8px;letter-spacing:0}
.card p{margin:4px 0 0;font-size:13.5px;color:#374151}
.card p.small{color:var(--muted);font-size:12.5px}
.card .chip{margin-top:8px}
.card.empty .kpi{color:#9ca3af;font-size:22px;margin:10px 0 6px}
.wtl{display:flex;height:8px;border-radius:4px;overflow:hidden;background:#eef0f3;margin:8px 0 4px}
.wtl .w{background:#2563eb}.wtl .t{background:#cbd5e1}.wtl .l{background:#64748b}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid #eef0f3;vertical-align:top}
th{font-size:11.5px;font-weight:700;color:var(--muted);text-transform:uppercase;letter-spacing:.05em;border-bottom:1px solid var(--line)}
.num{text-align:right}
td.num{white-space:nowrap}
td.name{font-weight:600;white-space:nowrap}
.path{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px;overflow-wrap:anywhere}
td.finish{min-width:140px}
div.bar{display:flex;height:8px;border-radius:4px;overflow:hidden;background:#eef0f3;margin:6px 0 3px;max-width:260px}
.fr-stop{background:#10b981}.fr-length{background:#f59e0b}.fr-other{background:#a78bfa}
svg.sw{vertical-align:-1px;margin-right:6px;flex:none}
dl.settings{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:8px;margin:0}
dl.settings div{border:1px solid var(--line);border-radius:8px;padding:6px 10px;background:var(--soft)}
dl.settings dt{font-size:11.5px;color:var(--muted)}
dl.settings dd{margin:0;font-weight:600;overflow-wrap:anywhere}
.prompt{border-left:3px solid var(--line);padding:2px 0 2px 12px;font-size:14px;color:#374151}
.chip{display:inline-block;font-size:11.5px;line-height:19px;padding:0 8px;border-radius:999px;background:#f1f5f9;color:#334155;white-space:nowrap;margin-right:4px}
.chip.warn{background:#fef3c7;color:#92400e}
.chip.pos{background:#dcfce7;color:#166534}
.chip.neg{background:#fee2e2;color:#991b1b}
.chip.accent{background:#dbeafe;color:#1e40af}
.chip.label{background:#fff;border:1px solid var(--line);line-height:17px}
table.answers{table-layout:fixed}
table.answers col.qcol{width:24%}
table.answers thead th{position:sticky;top:0;background:#fff;z-index:2;box-shadow:inset 0 -1px 0 var(--line);font-size:12px}
table.answers th .sub{text-transform:none;letter-spacing:0;font-weight:400;font-size:11.5px;margin-top:2px}
table.answers td{padding:14px 12px;border-bottom:1px solid var(--line);font-size:14px}
table.answers tbody tr:nth-child(even) td{background:#fcfcfd}
td.q .text{font-weight:600;color:#111827}
.qid{font-size:12px;color:var(--muted);font-weight:600;margin-bottom:4px}
.ctx{font-size:13px;color:#4b5563;border-left:3px solid var(--line);padding-left:8px;margin-bottom:8px}
.ctx .role{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);font-weight:700}
.text{white-space:pre-wrap;overflow-wrap:anywhere;unicode-bidi:plaintext}
.text.none{color:#9ca3af;font-style:italic}
.sample+.sample{margin-top:12px;padding-top:12px;border-top:1px dashed var(--line)}
.meta{margin:0 0 6px;line-height:22px}
mark.new{background:#dbeafe;color:inherit;border-radius:2px;box-shadow:0 0 0 1px #dbeafe}
.clamp{display:flex;flex-direction:column}
.clamp>.more{order:2;margin-top:4px}
.text.long{max-height:17em;overflow:hidden;-webkit-mask-image:linear-gradient(#000 60%,transparent);mask-image:linear-gradient(#000 60%,transparent)}
.more[open]+.text.long{max-height:none;-webkit-mask-image:none;mask-image:none}
.more>summary{list-style:none;cursor:pointer;font-size:12.5px;font-weight:600;color:var(--accent);display:inline-block}
.more>summary::-webkit-details-marker{display:none}
.more>summary:hover{text-decoration:underline}
.more[open] .show,.more:not([open]) .hide{display:none}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}
figure.chart{margin:0;border:1px solid var(--line);border-radius:10px;padding:12px 14px 8px}
figure.chart.wide{padding:10px 14px 8px}
svg.plot{display:block;width:100%;height:auto;overflow:visible}
.keys{font:11.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;color:#9ca3af;margin:1px 0 4px;overflow-wrap:anywhere}
.legend{display:flex;flex-wrap:wrap;gap:2px 16px;font-size:12.5px;color:#374151;margin:2px 0 6px}
.legend>span{display:inline-flex;align-items:center;white-space:nowrap}
.legend .last{color:var(--muted);margin-left:4px}
svg.plot .grid{stroke:#eef0f3;stroke-width:1}
svg.plot .axis{stroke:#9ca3af;stroke-width:1}
svg.plot text{font-size:11px;fill:#6b7280}
svg.plot text.axis-title{font-size:11.5px;fill:#4b5563}
svg.plot .ref{stroke:#9ca3af;stroke-width:1;stroke-dasharray:3 3}
svg.plot text.ref-label{font-size:10px;fill:#9ca3af}
svg.plot .line{fill:none;stroke-width:2;stroke-linejoin:round;stroke-linecap:round}
svg.plot .line.eval{stroke-dasharray:6 4;stroke-width:1.8}
svg.plot .pt{stroke-width:1.5}
svg.plot .bar{opacity:.9}
svg.plot .mean{stroke-width:1.5;stroke-dasharray:5 4}
svg.plot .mean-halo{stroke:#fff;stroke-width:4}
svg.plot text.mean-label{font-size:11px;font-weight:600}
footer{color:var(--muted);font-size:12.5px;text-align:center;margin-top:8px}
@media (max-width:760px){.page{padding:16px 12px}section{padding:16px 14px}.charts{grid-template-columns:1fr}table.answers col.qcol{width:30%}}
@media print{
@page{margin:12mm}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{background:#fff;color:#000;font-size:10pt}
.page{max-width:none;padding:0}
nav.toc,.more{display:none}
section{border:0;border-radius:0;box-shadow:none;padding:0;margin:0 0 9mm}
.text.long{max-height:none;-webkit-mask-image:none;mask-image:none}
table.answers thead th{position:static;box-shadow:none}
thead{display:table-header-group}
tr,.card,figure.chart,.sample,dl.settings div{break-inside:avoid}
h2,h3{break-after:avoid}
.card,figure.chart,dl.settings div{border-color:#bbb;background:#fff}
table.answers tbody tr:nth-child(even) td{background:#fff}
td,th,.card p,.legend,.prompt,.ctx,td.q .text{color:#000}
p.note,.small,.qid,.lede,.keys{color:#333}
.charts{grid-template-columns:1fr 1fr}
}
)css";

}  // namespace

html::Trusted StyleSheet() { return kStyle; }

}  // namespace tenet::eval::report_detail
