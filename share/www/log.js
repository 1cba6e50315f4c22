// The log viewer: the tail of a step's log through HTTP Range requests (a 200 MB log is never
// downloaded whole), its error and warning lines highlighted and anchored (the job's patterns,
// given in the address), earlier parts on demand, and a building job's log followed live until
// the job's page says the build is over. Static: nginx serves the log, nothing else runs.
// Address: log.html#log=/jobs/<id>/logs/<file>&job=<id>&step=<name>&e=<error re>&w=<warning re>
(function () {
  "use strict";
  var TAIL = 65536, EARLIER = 262144, POLL_MS = 1500, MARKS_SHOWN = 100;
  var NL = 10, CR = 13;

  function $(id) { return document.getElementById(id); }
  function params() {
    var out = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i > 0) out[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1));
    });
    return out;
  }
  // An RE2 pattern as a JavaScript one: RE2's leading (?i) becomes the "i" flag. A pattern
  // JavaScript cannot read highlights nothing (and says so).
  function compile(source) {
    if (!source) return null;
    var flags = "";
    var m = /^\(\?([imsU]+)\)/.exec(source);
    if (m) {
      if (m[1].indexOf("i") >= 0) flags += "i";
      if (m[1].indexOf("s") >= 0) flags += "s";
      source = source.slice(m[0].length);
    }
    try { return new RegExp(source, flags); } catch (e) { unreadable.push(source); return null; }
  }

  var unreadable = [];
  var p = params();
  var log = p.log || "";
  var pre = $("log"), state = $("log-state"), range = $("log-range"), earlierButton = $("log-earlier");
  var follow = $("log-follow"), marksNav = $("log-marks");
  function message(text) { var m = $("log-message"); m.textContent = text; m.hidden = false; }
  if (!/^\/jobs\/[0-9]+\/logs\/[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(log)) {
    message("Not a job's log: " + log);
    return;
  }
  var job = log.split("/")[2];
  var errorRe = compile(p.e), warningRe = compile(p.w);
  document.title = "#" + job + " " + (p.step || "log") + " · runbot";
  $("log-title").textContent = "#" + job + " " + (p.step || log.split("/").pop());
  $("log-job").href = "job/" + job + ".html";
  $("log-job").textContent = "job #" + job;
  $("log-raw").href = log;

  var decoder = new TextDecoder("utf-8");
  var start = 0;                 // file offset of the first byte loaded (head included)
  var head = new Uint8Array(0);  // an incomplete first line (start > 0): not shown yet
  var end = 0;                   // file offset after the last byte loaded
  var tail = new Uint8Array(0);  // the last line while it has no end of line yet
  var tailEl = null;
  var total = 0;
  var marks = [];                // {offset, kind, el}

  function concat(a, b) {
    var out = new Uint8Array(a.length + b.length);
    out.set(a, 0);
    out.set(b, a.length);
    return out;
  }

  async function fetchRange(spec) {
    var r = await fetch(log, { headers: { Range: "bytes=" + spec }, cache: "no-store" });
    var cr = r.headers.get("Content-Range") || "";
    if (r.status === 416) {
      var t = /\/(\d+)/.exec(cr);
      return { bytes: new Uint8Array(0), from: t ? +t[1] : end, total: t ? +t[1] : end };
    }
    if (r.status !== 200 && r.status !== 206) throw new Error("HTTP " + r.status);
    var bytes = new Uint8Array(await r.arrayBuffer());
    if (r.status === 200) return { bytes: bytes, from: 0, total: bytes.length };
    var m = /bytes (\d+)-(\d+)\/(\d+|\*)/.exec(cr);
    if (!m) throw new Error("no Content-Range in the answer");
    return { bytes: bytes, from: +m[1], total: m[3] === "*" ? +m[2] + 1 : +m[3] };
  }

  function classify(text) {
    if (errorRe && errorRe.test(text)) return "error";
    if (warningRe && warningRe.test(text)) return "warning";
    return "";
  }

  function lineElement(bytes, offset, complete) {
    var text = decoder.decode(bytes);
    if (text.endsWith("\r")) text = text.slice(0, -1);
    var el = document.createElement("span");
    el.className = "line";
    el.id = "b" + offset;
    el.setAttribute("data-offset", offset);
    var kind = classify(text);
    if (kind) {
      el.classList.add(kind);
      if (complete) marks.push({ offset: offset, kind: kind, el: el, text: text });
    }
    el.textContent = text + "\n";
    return el;
  }

  // The complete lines of `bytes` (file offset `from`): a fragment, and what is left after
  // the last end of line.
  function lines(bytes, from) {
    var fragment = document.createDocumentFragment(), begin = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] === NL) {
        fragment.appendChild(lineElement(bytes.subarray(begin, i), from + begin, true));
        begin = i + 1;
      }
    }
    return { fragment: fragment, rest: bytes.subarray(begin), restOffset: from + begin };
  }

  function showTail() {
    if (tailEl) tailEl.remove();
    tailEl = null;
    if (tail.length) {
      tailEl = lineElement(tail, end - tail.length, false);
      tailEl.classList.add("partial");
      pre.appendChild(tailEl);
    }
  }

  function showRange() {
    range.textContent = "bytes " + start + "–" + end + " of " + total +
        (start > 0 ? " (" + Math.round(start / 1024) + " KiB earlier not loaded)" : " (whole log)");
    earlierButton.hidden = start === 0;
  }

  function showMarks() {
    marks.sort(function (a, b) { return a.offset - b.offset; });
    var errors = marks.filter(function (m) { return m.kind === "error"; });
    var warnings = marks.length - errors.length;
    marksNav.textContent = "";
    var summary = document.createElement("span");
    summary.className = "summary";
    summary.textContent = errors.length + " error lines, " + warnings + " warning lines" +
        (start > 0 ? " in the loaded part" : "") +
        (unreadable.length ? " (pattern not usable here: " + unreadable.join(", ") + ")" : "");
    marksNav.appendChild(summary);
    marks.slice(0, MARKS_SHOWN).forEach(function (m) {
      var a = document.createElement("a");
      a.href = "#" + location.hash.replace(/^#/, "");
      a.className = "mark " + m.kind;
      a.setAttribute("data-target", m.el.id);
      a.textContent = m.text.slice(0, 80) || "(empty line)";
      a.addEventListener("click", function (e) {
        e.preventDefault();
        m.el.scrollIntoView({ block: "center" });
        m.el.classList.add("flash");
        setTimeout(function () { m.el.classList.remove("flash"); }, 1500);
      });
      marksNav.appendChild(a);
    });
  }

  async function loadTail() {
    var got = await fetchRange("-" + TAIL);
    total = got.total;
    start = got.from;
    end = got.from + got.bytes.length;
    var bytes = got.bytes;
    if (start > 0) {  // the first line began earlier: held back until "load earlier"
      var nl = bytes.indexOf(NL);
      head = nl < 0 ? bytes : bytes.subarray(0, nl + 1);
      bytes = nl < 0 ? new Uint8Array(0) : bytes.subarray(nl + 1);
    }
    var out = lines(bytes, start + head.length);
    pre.appendChild(out.fragment);
    tail = out.rest;
    showTail();
    showRange();
    showMarks();
    pre.scrollTop = pre.scrollHeight;
    window.scrollTo(0, document.body.scrollHeight);
  }

  async function loadEarlier() {
    if (start === 0) return;
    earlierButton.disabled = true;
    try {
      var from = Math.max(0, start - EARLIER);
      var got = await fetchRange(from + "-" + (start - 1));
      var bytes = concat(got.bytes, head);
      var lead = new Uint8Array(0);
      if (from > 0) {
        var nl = bytes.indexOf(NL);
        lead = nl < 0 ? bytes : bytes.subarray(0, nl + 1);
        bytes = nl < 0 ? new Uint8Array(0) : bytes.subarray(nl + 1);
      }
      var out = lines(bytes, from + lead.length);  // ends with head's end of line: no rest
      var first = pre.firstChild;
      var before = first ? first.getBoundingClientRect().top : 0;
      pre.insertBefore(out.fragment, first);
      if (first) window.scrollBy(0, first.getBoundingClientRect().top - before);
      head = lead;
      start = from;
      showRange();
      showMarks();
    } catch (e) {
      state.textContent = "cannot load earlier: " + e.message;
    } finally {
      earlierButton.disabled = false;
    }
  }

  async function poll() {
    var got = await fetchRange(end + "-");
    if (got.total < end) {  // replaced by a shorter log (a rerun): start again
      pre.textContent = "";
      marks = []; head = new Uint8Array(0); tail = new Uint8Array(0); tailEl = null;
      await loadTail();
      return;
    }
    total = got.total;
    if (!got.bytes.length) return;
    var nearBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    var bytes = concat(tail, got.bytes);
    var from = end - tail.length;
    end = got.from + got.bytes.length;
    if (tailEl) { tailEl.remove(); tailEl = null; }
    var out = lines(bytes, from);
    pre.appendChild(out.fragment);
    tail = out.rest;
    showTail();
    showRange();
    showMarks();
    if (follow.checked && nearBottom) window.scrollTo(0, document.body.scrollHeight);
  }

  // The job page says whether the build is still going (data-state on its <main>).
  async function jobState() {
    try {
      var r = await fetch("job/" + job + ".html", { cache: "no-store" });
      if (!r.ok) return "unknown";
      var m = /data-state="([a-z]+)"/.exec(await r.text());
      return m ? m[1] : "unknown";
    } catch (e) {
      return "unknown";
    }
  }

  async function followLive() {
    var s = await jobState();
    var checks = 0;
    while (s === "building" || s === "pending") {
      pre.classList.add("live");
      state.textContent = follow.checked ? "building: following the log live" : "building";
      await new Promise(function (resolve) { setTimeout(resolve, POLL_MS); });
      try { await poll(); } catch (e) { state.textContent = "cannot follow: " + e.message; }
      if (++checks % 4 === 0) s = await jobState();
    }
    pre.classList.remove("live");
    try { await poll(); } catch (e) { /* the log may be gone */ }
    if (s !== "unknown") state.textContent = "build over (" + s + ")";
    pre.setAttribute("data-followed", "done");
  }

  earlierButton.addEventListener("click", loadEarlier);
  loadTail()
    .then(function () { pre.setAttribute("data-loaded", "yes"); return followLive(); })
    .catch(function (e) { message("Cannot read " + log + ": " + e.message); });
})();
