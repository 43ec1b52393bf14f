// The s3d console in the browser. Every action is an S3 or /_s3d/ request of the signed-in user: the console
// server signs it (a SigV4 presigned URL made with the user's keys, POST api/sign with the session's CSRF token)
// and the browser sends it to the daemon, which authenticates and authorizes it as it does any client's.
"use strict";

const CONSOLE = "/_s3d/console/";
const PART_SIZE = 8 * 1024 * 1024; // multipart part size; files larger than one part upload in parts
const FILES_AT_ONCE = 2;
const DELETES_AT_ONCE = 4;
const STATUS_POLL_MS = 2000;
const PAGE_SIZES = [100, 500, 1000];
const LINK_LIFETIMES = [["1 hour", 3600], ["1 day", 86400], ["7 days", 604800]];
const S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/";

const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
const CSRF = meta("s3d-csrf");
const IS_ADMIN = meta("s3d-admin") === "true";
const MODE = meta("s3d-mode");
const view = document.getElementById("view");
const live = document.getElementById("live");
let timers = [];

// ---------- DOM helpers (text is always set as text: nothing from the server becomes markup) ----------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) el.append(c);
  return el;
}
function say(text) { live.textContent = text; }
function fmtBytes(n) {
  n = Number(n);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}
function fmtDate(s) { return s ? new Date(s).toLocaleString() : ""; }
function errorBox(e) { return h("p", { class: "error", role: "alert", text: String(e.message || e) }); }
function section(title, ...children) { return h("section", { "aria-label": title }, h("h2", { text: title }), ...children); }

// ---------- requests ----------
class S3Failure extends Error {
  constructor(status, code, message) { super(`${code}: ${message}`); this.status = status; this.code = code; }
}
async function sign(requests) {
  const r = await fetch(CONSOLE + "api/sign", {
    method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF },
    body: JSON.stringify({ requests }), credentials: "same-origin",
  });
  if (r.status === 401) { location.href = CONSOLE + "signin"; throw new Error("signed out"); }
  const data = await r.json();
  if (!r.ok) throw new Error(data.message || data.error);
  return data.urls;
}
async function failure(r) {
  const text = r.status === 204 || r.headers.get("content-length") === "0" ? "" : await r.text();
  let code = r.headers.get("x-amz-error-code") || `HTTP ${r.status}`, message = r.statusText;
  if (text.startsWith("<")) {
    const doc = new DOMParser().parseFromString(text, "application/xml");
    code = first(doc, "Code") || code; message = first(doc, "Message") || message;
  } else if (text) {
    try { const j = JSON.parse(text); code = j.error || code; message = j.message || text; } catch { message = text; }
  }
  return new S3Failure(r.status, code, message);
}
// one request: {method, bucket?, key?, admin?, query?, headers?} plus an optional body
async function call(req, body) {
  const [url] = await sign([req]);
  const r = await fetch(url, { method: req.method, headers: req.headers || {}, body, credentials: "omit" });
  if (!r.ok) throw await failure(r);
  return r;
}
async function callXml(req, body) {
  const text = await (await call(req, body)).text();
  return new DOMParser().parseFromString(text, "application/xml");
}
async function callJson(req) { return (await call(req)).json(); }
function kids(el, name) { return [...el.children].filter((c) => c.localName === name); }
function text(el, name) { const c = kids(el, name)[0]; return c ? c.textContent : ""; }
function first(doc, name) { const c = doc.getElementsByTagName(name)[0]; return c ? c.textContent : ""; }
function xmlDoc(root, build) {
  const doc = document.implementation.createDocument(S3_NS, root, null);
  build(doc, doc.documentElement);
  return new XMLSerializer().serializeToString(doc);
}
function add(doc, parent, name, value) {
  const el = doc.createElementNS(S3_NS, name);
  if (value !== undefined) el.textContent = value;
  parent.appendChild(el);
  return el;
}
async function pool(items, n, work) {
  let next = 0;
  const runners = Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) { const i = next++; await work(items[i], i); }
  });
  await Promise.all(runners);
}
async function download(bucket, key, versionId) {
  const query = versionId ? { versionId } : {};
  const [url] = await sign([{ method: "GET", bucket, key, query }]);
  const a = h("a", { href: url, download: key.split("/").pop() || "download" });
  document.body.append(a); a.click(); a.remove();
}

// ---------- dialogs ----------
function confirmDialog(title, message, action, typed) {
  return new Promise((resolve) => {
    const input = typed ? h("input", { id: "confirm-typed", autocomplete: "off" }) : null;
    const ok = h("button", { type: "submit", class: "danger", text: action });
    const cancel = h("button", { type: "button", text: "Cancel" });
    const form = h("form", { method: "dialog" },
      h("h2", { text: title }), h("p", { text: message }),
      typed ? [h("label", { for: "confirm-typed", text: `Type ${typed} to confirm` }), input] : null,
      h("div", { class: "row" }, ok, cancel));
    const dlg = h("dialog", { "aria-label": title }, form);
    const done = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    form.addEventListener("submit", (e) => { e.preventDefault(); if (!typed || input.value === typed) done(true); else input.setAttribute("aria-invalid", "true"); });
    cancel.addEventListener("click", () => done(false));
    dlg.addEventListener("cancel", () => done(false));
    document.body.append(dlg); dlg.showModal();
    (input || cancel).focus();
  });
}
function linkDialog(bucket, key) {
  const id = "link-lifetime";
  const select = h("select", { id }, LINK_LIFETIMES.map(([label, s]) => h("option", { value: s, text: label })));
  const out = h("input", { id: "link-url", readonly: true, size: 60 });
  const make = h("button", { type: "button", text: "Make link" });
  const close = h("button", { type: "button", text: "Close" });
  const dlg = h("dialog", { "aria-label": "Presigned link" },
    h("h2", { text: `Link to ${key}` }), h("label", { for: id, text: "Lifetime" }), select, make,
    h("label", { for: "link-url", text: "Presigned URL" }), out, h("div", { class: "row" }, close));
  make.addEventListener("click", async () => {
    const [url] = await sign([{ method: "GET", bucket, key, expires: Number(select.value) }]);
    out.value = location.origin + url; out.select();
    try { await navigator.clipboard.writeText(out.value); say("Link copied"); } catch { say("Link ready to copy"); }
  });
  close.addEventListener("click", () => { dlg.close(); dlg.remove(); });
  dlg.addEventListener("close", () => dlg.remove());
  document.body.append(dlg); dlg.showModal(); select.focus();
}

// ---------- tags editor (object and bucket tags) ----------
const TAG_WORDS = { item: "Tag", save: "Save tags", saved: "Tags saved" };
const META_WORDS = { item: "Metadata field", save: "Save metadata", saved: "Metadata saved" };
function tagEditor(idBase, tags, save, words = TAG_WORDS) {
  const noun = words.item;
  const rows = h("tbody");
  const addRow = (k = "", v = "") => {
    const n = rows.children.length;
    const kId = `${idBase}-k${n}`, vId = `${idBase}-v${n}`;
    const tr = h("tr", {},
      h("td", {}, h("label", { for: kId, class: "sr", text: `${noun} ${n + 1} key` }), h("input", { id: kId, value: k, class: "tag-key" })),
      h("td", {}, h("label", { for: vId, class: "sr", text: `${noun} ${n + 1} value` }), h("input", { id: vId, value: v, class: "tag-value" })),
      h("td", {}, h("button", { type: "button", text: "Remove", "aria-label": `Remove ${noun.toLowerCase()} ${n + 1}`, onclick: () => tr.remove() })));
    rows.append(tr);
  };
  tags.forEach(([k, v]) => addRow(k, v));
  const status = h("p", { class: "note" });
  const form = h("form", { class: "tags" },
    h("table", {}, h("thead", {}, h("tr", {}, h("th", { text: "Key" }), h("th", { text: "Value" }), h("th", { text: "" }))), rows),
    h("div", { class: "row" }, h("button", { type: "button", text: `Add ${noun.toLowerCase()}`, onclick: () => addRow() }),
      h("button", { type: "submit", text: words.save })), status);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const list = [...rows.children].map((tr) => [tr.querySelector(".tag-key").value, tr.querySelector(".tag-value").value]).filter(([k]) => k);
    try { await save(list); status.textContent = words.saved; say(words.saved); } catch (err) { status.textContent = String(err.message); }
  });
  return form;
}
function tagsXml(list) {
  return xmlDoc("Tagging", (doc, root) => {
    const set = add(doc, root, "TagSet");
    for (const [k, v] of list) { const t = add(doc, set, "Tag"); add(doc, t, "Key", k); add(doc, t, "Value", v); }
  });
}
function readTags(doc) {
  return [...doc.getElementsByTagName("Tag")].map((t) => [text(t, "Key"), text(t, "Value")]);
}

// ---------- buckets ----------
async function bucketsView() {
  const [list, status] = await Promise.all([
    callXml({ method: "GET" }),
    callJson({ method: "GET", admin: "/_s3d/status" }).catch(() => ({ buckets: [] })),
  ]);
  const counts = Object.fromEntries((status.buckets || []).map((b) => [b.name, b]));
  const rows = [...list.getElementsByTagName("Bucket")].map((b) => {
    const name = text(b, "Name"), c = counts[name] || {};
    return h("tr", {},
      h("td", {}, h("a", { href: `#/browse/${encodeURIComponent(name)}/`, text: name })),
      h("td", { text: fmtDate(text(b, "CreationDate")) }),
      h("td", { class: "num", text: c.objects ?? "" }),
      h("td", { class: "num", text: c.bytes !== undefined ? fmtBytes(c.bytes) : "" }),
      h("td", {}, h("a", { href: `#/settings/${encodeURIComponent(name)}`, text: "Settings", "aria-label": `Settings of ${name}` }), " ",
        h("button", { type: "button", class: "danger", text: "Delete", "aria-label": `Delete bucket ${name}`, onclick: () => deleteBucket(name) })));
  });
  const input = h("input", { id: "new-bucket", required: true, pattern: "[a-z0-9][a-z0-9.\\-]{1,61}[a-z0-9]", autocomplete: "off" });
  const note = h("p", { class: "note" });
  const form = h("form", { class: "row" }, h("label", { for: "new-bucket", text: "New bucket name" }), input,
    h("button", { type: "submit", text: "Create bucket" }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try { await call({ method: "PUT", bucket: input.value }); say(`Bucket ${input.value} created`); render(); }
    catch (err) { note.textContent = String(err.message); }
  });
  return [h("h1", { text: "Buckets" }), form, note,
    h("table", { class: "list" }, h("caption", { text: `${rows.length} buckets` }),
      h("thead", {}, h("tr", {}, ["Name", "Created", "Objects", "Size", "Actions"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, rows))];
}
async function emptyBucket(bucket) {
  let keyMarker = "", versionMarker = "";
  for (;;) {
    const query = { versions: "" };
    if (keyMarker) { query["key-marker"] = keyMarker; query["version-id-marker"] = versionMarker; }
    const doc = await callXml({ method: "GET", bucket, query });
    const items = [...kids(doc.documentElement, "Version"), ...kids(doc.documentElement, "DeleteMarker")]
      .map((v) => [text(v, "Key"), text(v, "VersionId")]);
    const reqs = items.map(([key, vid]) => ({ method: "DELETE", bucket, key, query: vid && vid !== "null" ? { versionId: vid } : { versionId: "null" } }));
    if (reqs.length) {
      const urls = await sign(reqs);
      await pool(urls, DELETES_AT_ONCE, async (u) => { const r = await fetch(u, { method: "DELETE" }); if (!r.ok) throw await failure(r); });
    }
    if (first(doc, "IsTruncated") !== "true") break;
    keyMarker = first(doc, "NextKeyMarker"); versionMarker = first(doc, "NextVersionIdMarker");
  }
  const uploads = await callXml({ method: "GET", bucket, query: { uploads: "" } });
  for (const u of uploads.getElementsByTagName("Upload")) {
    await call({ method: "DELETE", bucket, key: text(u, "Key"), query: { uploadId: text(u, "UploadId") } });
  }
}
async function deleteBucket(name) {
  if (!(await confirmDialog("Delete bucket", `Delete the bucket ${name}?`, "Delete bucket"))) return;
  try {
    await call({ method: "DELETE", bucket: name });
  } catch (e) {
    if (e.code !== "BucketNotEmpty") { say(String(e.message)); return; }
    const sure = await confirmDialog("Bucket not empty", `${name} still holds objects. Deleting it deletes every object and version in it.`, "Delete everything", name);
    if (!sure) return;
    try { await emptyBucket(name); await call({ method: "DELETE", bucket: name }); }
    catch (e2) { say(String(e2.message)); return; }
  }
  say(`Bucket ${name} deleted`);
  render();
}

// ---------- object browser ----------
const browse = { bucket: "", prefix: "", tokens: [""], page: 0, size: PAGE_SIZES[0], sort: "name-asc", filter: "" };
async function browseView(bucket, prefix, stay = previousView === "browse") {
  // the page, filter and tokens hold while the user stays in this listing; entering it starts at its first page
  if (!stay || browse.bucket !== bucket || browse.prefix !== prefix) Object.assign(browse, { bucket, prefix, tokens: [""], page: 0, filter: "" });
  const query = { "list-type": "2", delimiter: "/", prefix: prefix + browse.filter, "max-keys": String(browse.size) };
  if (browse.tokens[browse.page]) query["continuation-token"] = browse.tokens[browse.page];
  const doc = await callXml({ method: "GET", bucket, query });
  const root = doc.documentElement;
  const next = first(doc, "NextContinuationToken");
  const folders = kids(root, "CommonPrefixes").map((p) => ({ folder: true, key: text(p, "Prefix"), size: -1, date: "" }));
  const files = kids(root, "Contents").map((c) => ({ folder: false, key: text(c, "Key"), size: Number(text(c, "Size")), date: text(c, "LastModified") }))
    .filter((f) => f.key !== prefix);
  const [field, dir] = browse.sort.split("-");
  const cmp = { name: (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0), size: (a, b) => a.size - b.size, date: (a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0) }[field];
  const sorted = [...folders, ...files].sort((a, b) => (a.folder !== b.folder ? (a.folder ? -1 : 1) : (dir === "asc" ? 1 : -1) * cmp(a, b)));
  const crumbs = [h("a", { href: "#/buckets", text: "Buckets" }), " / ", h("a", { href: `#/browse/${encodeURIComponent(bucket)}/`, text: bucket })];
  let acc = "";
  for (const part of prefix.split("/").filter(Boolean)) {
    acc += part + "/";
    crumbs.push(" / ", h("a", { href: `#/browse/${encodeURIComponent(bucket)}/${encodeURIComponent(acc)}`, text: part }));
  }
  const rows = sorted.map((it) => {
    const name = it.key.slice(prefix.length);
    if (it.folder) {
      return h("tr", {}, h("td", {}), h("td", {}, h("a", { class: "folder", href: `#/browse/${encodeURIComponent(bucket)}/${encodeURIComponent(it.key)}`, text: name })),
        h("td", { text: "folder" }), h("td", {}), h("td", {}));
    }
    return h("tr", {},
      h("td", {}, h("input", { type: "checkbox", class: "pick", value: it.key, "aria-label": `Select ${name}` })),
      h("td", {}, h("a", { href: `#/object/${encodeURIComponent(bucket)}/${encodeURIComponent(it.key)}`, text: name })),
      h("td", { class: "num", text: fmtBytes(it.size) }), h("td", { text: fmtDate(it.date) }),
      h("td", {}, h("button", { type: "button", text: "Download", "aria-label": `Download ${name}`, onclick: () => download(bucket, it.key) }), " ",
        h("button", { type: "button", text: "Link", "aria-label": `Presigned link to ${name}`, onclick: () => linkDialog(bucket, it.key) })));
  });
  const filter = h("input", { id: "filter", value: browse.filter, autocomplete: "off" });
  const filterForm = h("form", { class: "row", role: "search" }, h("label", { for: "filter", text: "Filter by name prefix" }), filter, h("button", { type: "submit", text: "Filter" }));
  filterForm.addEventListener("submit", (e) => { e.preventDefault(); Object.assign(browse, { filter: filter.value, tokens: [""], page: 0 }); render(); });
  const sort = h("select", { id: "sort", onchange: (e) => { browse.sort = e.target.value; render(); } },
    [["name-asc", "Name A–Z"], ["name-desc", "Name Z–A"], ["size-asc", "Smallest first"], ["size-desc", "Largest first"], ["date-desc", "Newest first"], ["date-asc", "Oldest first"]]
      .map(([v, t]) => h("option", { value: v, text: t, selected: v === browse.sort })));
  const size = h("select", { id: "page-size", onchange: (e) => { Object.assign(browse, { size: Number(e.target.value), tokens: [""], page: 0 }); render(); } },
    PAGE_SIZES.map((n) => h("option", { value: n, text: String(n), selected: n === browse.size })));
  const pager = h("nav", { class: "row", "aria-label": "Pages" },
    h("button", { type: "button", text: "First page", disabled: browse.page === 0, onclick: () => { browse.page = 0; render(); } }),
    h("button", { type: "button", text: "Previous page", disabled: browse.page === 0, onclick: () => { browse.page--; render(); } }),
    h("span", { text: `Page ${browse.page + 1}` }),
    h("button", { type: "button", text: "Next page", disabled: !next, onclick: () => { browse.tokens[browse.page + 1] = next; browse.page++; render(); } }));
  const delSel = h("button", { type: "button", class: "danger", text: "Delete selected", onclick: () => deleteSelected(bucket) });
  return [h("h1", { text: prefix ? `${bucket}/${prefix}` : bucket }), h("p", { class: "crumbs" }, crumbs),
    uploadPanel(bucket, prefix),
    h("div", { class: "row" }, filterForm, h("label", { for: "sort", text: "Sort this page" }), sort, h("label", { for: "page-size", text: "Per page" }), size, delSel),
    h("table", { class: "list", id: "objects" },
      h("caption", { text: `${files.length} objects and ${folders.length} folders on this page` }),
      h("thead", {}, h("tr", {}, ["Select", "Name", "Size", "Last modified", "Actions"].map((t) => h("th", { scope: "col", text: t })))),
      h("tbody", {}, rows)),
    pager];
}
async function deleteSelected(bucket) {
  const keys = [...view.querySelectorAll(".pick:checked")].map((c) => c.value);
  if (!keys.length) { say("Nothing selected"); return; }
  if (!(await confirmDialog("Delete objects", `Delete ${keys.length} object(s)?`, "Delete"))) return;
  try {
    const urls = await sign(keys.map((key) => ({ method: "DELETE", bucket, key })));
    await pool(urls, DELETES_AT_ONCE, async (u) => { const r = await fetch(u, { method: "DELETE" }); if (!r.ok) throw await failure(r); });
    say(`${keys.length} object(s) deleted`);
  } catch (e) { say(String(e.message)); }
  render();
}

// ---------- uploads ----------
// the SHA-256 of a file or part, base64 (x-amz-checksum-sha256); null where the browser has no crypto.subtle (a page
// not in a secure context): the upload then goes without one, and a bucket that needs one says so
async function sha256(blob) {
  if (!globalThis.crypto || !crypto.subtle) return null;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()));
  return btoa(String.fromCharCode(...digest));
}
function checksumHeaders(value) { return value ? { "x-amz-checksum-sha256": value } : {}; }
function xhrFailure(x) {
  const doc = new DOMParser().parseFromString(x.responseText, "application/xml");
  return new S3Failure(x.status, first(doc, "Code") || `HTTP ${x.status}`, first(doc, "Message") || x.statusText);
}
function xhrPut(url, headers, body, onProgress, job) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    job.xhr = x;
    x.open("PUT", url);
    for (const [k, v] of Object.entries(headers)) x.setRequestHeader(k, v); // signed: sent exactly as signed
    x.upload.onprogress = (e) => onProgress(e.loaded);
    x.onload = () => (x.status >= 200 && x.status < 300 ? resolve(x) : reject(xhrFailure(x)));
    x.onerror = () => reject(new Error("network error"));
    x.onabort = () => reject(new Error("cancelled"));
    x.send(body);
  });
}
async function uploadOne(bucket, job, update) {
  const file = job.file;
  // a checksum with every PutObject and part: S3 refuses a PutObject without one in a bucket with a default
  // object-lock retention, and it keeps the SHA-256 as the object's checksum
  if (file.size <= PART_SIZE) {
    const headers = checksumHeaders(await sha256(file));
    const [url] = await sign([{ method: "PUT", bucket, key: job.key, headers }]);
    await xhrPut(url, headers, file, (n) => update(job, n), job);
    update(job, file.size);
    return;
  }
  const hashing = Boolean(globalThis.crypto && crypto.subtle);
  const created = hashing ? { "x-amz-checksum-algorithm": "SHA256" } : {};
  const doc = await callXml({ method: "POST", bucket, key: job.key, query: { uploads: "" }, headers: created });
  job.uploadId = first(doc, "UploadId");
  const count = Math.ceil(file.size / PART_SIZE);
  const done = []; // [ETag, SHA-256 or null] of each part
  for (let i = 0; i < count; i++) {
    if (job.cancelled) throw new Error("cancelled");
    const base = i * PART_SIZE;
    const part = file.slice(base, base + PART_SIZE);
    const sum = await sha256(part);
    const headers = checksumHeaders(sum);
    // signed just before it is sent: a signed URL lives 5 minutes, and a large file takes longer than that
    const [url] = await sign([{ method: "PUT", bucket, key: job.key, query: { partNumber: String(i + 1), uploadId: job.uploadId }, headers }]);
    const x = await xhrPut(url, headers, part, (n) => update(job, base + n), job);
    done.push([x.getResponseHeader("ETag"), sum]);
  }
  const body = xmlDoc("CompleteMultipartUpload", (d, root) => done.forEach(([etag, sum], i) => {
    const p = add(d, root, "Part"); add(d, p, "PartNumber", String(i + 1)); add(d, p, "ETag", etag);
    if (sum) add(d, p, "ChecksumSHA256", sum);
  }));
  await call({ method: "POST", bucket, key: job.key, query: { uploadId: job.uploadId } }, body);
  job.uploadId = null;
  update(job, file.size);
}
function cancelJob(job) {
  job.cancelled = true; // uploadOne stops before its next part; the catch below aborts the multipart upload
  if (job.xhr) job.xhr.abort();
}
async function abortUpload(bucket, job) {
  if (!job.uploadId) return;
  try { await call({ method: "DELETE", bucket, key: job.key, query: { uploadId: job.uploadId } }); } catch { /* already gone */ }
  job.uploadId = null;
}
async function filesOf(dataTransfer) {
  const entries = [...dataTransfer.items].map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
  if (!entries.length) return [...dataTransfer.files].map((f) => [f.name, f]);
  const out = [];
  const walk = async (entry, path) => {
    if (entry.isFile) { out.push([path + entry.name, await new Promise((ok, no) => entry.file(ok, no))]); return; }
    const reader = entry.createReader();
    for (;;) {
      const batch = await new Promise((ok, no) => reader.readEntries(ok, no));
      if (!batch.length) break;
      for (const e of batch) await walk(e, path + entry.name + "/");
    }
  };
  for (const e of entries) await walk(e, "");
  return out;
}
function uploadPanel(bucket, prefix) {
  const list = h("ul", { class: "uploads", "aria-label": "Uploads" });
  const overall = h("progress", { id: "overall-progress", max: 100, value: 0, "aria-label": "Overall upload progress" });
  const overallText = h("span", { id: "overall-text", text: "" });
  const pick = h("input", { type: "file", id: "upload-files", multiple: true });
  const pickDir = h("input", { type: "file", id: "upload-folder", webkitdirectory: true });
  const zone = h("div", { class: "drop", id: "drop-zone", text: `Drop files or folders here to upload them to ${bucket}/${prefix}` });
  const start = (pairs) => {
    const jobs = pairs.map(([rel, file]) => ({ key: prefix + rel, file, done: 0 }));
    const total = jobs.reduce((s, j) => s + j.file.size, 0) || 1;
    const update = (job, n) => {
      job.done = n;
      const pct = job.file.size ? Math.floor((100 * n) / job.file.size) : 100;
      job.bar.value = pct; job.pct.textContent = `${pct}%`;
      const all = Math.floor((100 * jobs.reduce((s, j) => s + j.done, 0)) / total);
      overall.value = all; overallText.textContent = `${all}%`;
    };
    for (const job of jobs) {
      const name = job.key.slice(prefix.length);
      job.bar = h("progress", { max: 100, value: 0, "aria-label": `Upload progress of ${name}` });
      job.pct = h("span", { class: "pct", text: "0%" });
      job.state = h("span", { class: "state", text: "waiting" });
      const cancel = h("button", { type: "button", text: "Cancel", "aria-label": `Cancel upload of ${name}`, onclick: () => cancelJob(job) });
      list.append(h("li", { "data-key": job.key }, h("span", { class: "name", text: name }), job.bar, job.pct, job.state, cancel));
    }
    pool(jobs, FILES_AT_ONCE, async (job) => {
      if (job.cancelled) { job.state.textContent = "cancelled"; return; }
      job.state.textContent = "uploading";
      try { await uploadOne(bucket, job, update); job.state.textContent = "done"; }
      catch (e) {
        await abortUpload(bucket, job); // the multipart upload is gone before the row says so
        job.state.textContent = job.cancelled ? "cancelled" : `failed: ${e.message}`;
      }
    }).then(() => { say("Uploads finished"); refreshListing(); });
  };
  pick.addEventListener("change", () => { start([...pick.files].map((f) => [f.name, f])); pick.value = ""; });
  pickDir.addEventListener("change", () => { start([...pickDir.files].map((f) => [f.webkitRelativePath || f.name, f])); pickDir.value = ""; });
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (e) => { e.preventDefault(); zone.classList.remove("over"); start(await filesOf(e.dataTransfer)); });
  return section("Upload", zone, h("div", { class: "row" }, h("label", { for: "upload-files", text: "Choose files" }), pick,
    h("label", { for: "upload-folder", text: "Choose a folder" }), pickDir),
    h("div", { class: "row" }, overall, overallText), list);
}
async function refreshListing() {
  const table = document.getElementById("objects");
  if (!table) return;
  const parsed = route();
  if (parsed[0] !== "browse") return;
  const fresh = (await browseView(parsed[1], parsed[2], true)).find((el) => el.id === "objects");
  if (fresh) table.replaceWith(fresh);
}

// ---------- one object ----------
// x-amz-meta-* values that are not plain ASCII travel as one RFC 2047 encoded-word, =?UTF-8?B?...?= (the form
// s3d answers; docs/compatibility.md, User metadata)
const B_WORD = /^=\?UTF-8\?B\?([A-Za-z0-9+/]*={0,2})\?=$/;
function metaText(v) {
  const m = B_WORD.exec(v);
  if (!m) return v;
  try { return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0))); }
  catch { return v; }
}
function metaHeader(v) {
  if (/^[\x20-\x7e]*$/.test(v) && v === v.trim() && !v.includes("=?")) return v;
  return `=?UTF-8?B?${btoa(String.fromCharCode(...new TextEncoder().encode(v)))}?=`;
}
async function objectView(bucket, key) {
  const up = key.includes("/") ? key.slice(0, key.lastIndexOf("/") + 1) : "";
  const back = h("p", { class: "crumbs" }, h("a", { href: `#/browse/${encodeURIComponent(bucket)}/${encodeURIComponent(up)}`, text: `Back to ${bucket}/${up}` }));
  let head;
  try {
    head = await call({ method: "HEAD", bucket, key });
  } catch (e) {
    if (e.status !== 404) throw e;
    return [h("h1", { text: key }), back, h("p", { text: "There is no current version: the key was deleted (its newest version is a delete marker) or never written." }),
      section("Versions", await versionsTable(bucket, key))];
  }
  const metaRows = [];
  head.headers.forEach((v, k) => { if (k.startsWith("x-amz-meta-")) metaRows.push([k.slice("x-amz-meta-".length), metaText(v)]); });
  const facts = [["Size", fmtBytes(head.headers.get("content-length"))], ["ETag", head.headers.get("etag")],
    ["Content type", head.headers.get("content-type")], ["Last modified", fmtDate(head.headers.get("last-modified"))],
    ["Version", head.headers.get("x-amz-version-id") || "null"]];
  const tagsDoc = await callXml({ method: "GET", bucket, key, query: { tagging: "" } });
  const tags = tagEditor("otag", readTags(tagsDoc), async (list) => {
    await call({ method: "PUT", bucket, key, query: { tagging: "" } }, tagsXml(list));
  });
  const metaEditor = tagEditor("meta", metaRows, async (list) => {
    const headers = { "x-amz-copy-source": `/${encodeURIComponent(bucket)}/${encodeURIComponent(key)}`, "x-amz-metadata-directive": "REPLACE" };
    const ct = head.headers.get("content-type");
    if (ct) headers["content-type"] = ct;
    for (const [k, v] of list) headers[`x-amz-meta-${k.toLowerCase()}`] = metaHeader(v);
    await call({ method: "PUT", bucket, key, headers });
  }, META_WORDS);
  const versions = await versionsTable(bucket, key);
  return [h("h1", { text: key }), back,
    h("dl", {}, facts.map(([k, v]) => [h("dt", { text: k }), h("dd", { text: v || "" })])),
    h("div", { class: "row" },
      h("button", { type: "button", text: "Download", onclick: () => download(bucket, key) }),
      h("button", { type: "button", text: "Copy presigned link", onclick: () => linkDialog(bucket, key) }),
      h("button", { type: "button", class: "danger", text: "Delete object", onclick: async () => {
        if (!(await confirmDialog("Delete object", `Delete ${key}?`, "Delete"))) return;
        try { await call({ method: "DELETE", bucket, key }); say(`${key} deleted`); location.hash = `#/browse/${encodeURIComponent(bucket)}/${encodeURIComponent(up)}`; }
        catch (e) { say(String(e.message)); }
      } })),
    section("Tags", tags), section("Metadata (x-amz-meta-*)", metaEditor), section("Versions", versions)];
}
async function versionsTable(bucket, key) {
  const doc = await callXml({ method: "GET", bucket, query: { versions: "", prefix: key } });
  const root = doc.documentElement;
  const items = [...kids(root, "Version").map((v) => ({ v, marker: false })), ...kids(root, "DeleteMarker").map((v) => ({ v, marker: true }))]
    .filter(({ v }) => text(v, "Key") === key)
    .sort((a, b) => (text(a.v, "LastModified") < text(b.v, "LastModified") ? 1 : -1));
  const rows = items.map(({ v, marker }) => {
    const vid = text(v, "VersionId");
    return h("tr", {}, h("td", { text: vid }), h("td", { text: marker ? "delete marker" : "version" }),
      h("td", { text: text(v, "IsLatest") === "true" ? "latest" : "" }), h("td", { text: fmtDate(text(v, "LastModified")) }),
      h("td", { class: "num", text: marker ? "" : fmtBytes(text(v, "Size")) }),
      h("td", {}, marker ? null : h("button", { type: "button", text: "Download", "aria-label": `Download version ${vid}`, onclick: () => download(bucket, key, vid) }), " ",
        h("button", { type: "button", class: "danger", text: "Delete", "aria-label": `Delete version ${vid}`, onclick: async () => {
          if (!(await confirmDialog("Delete version", `Delete version ${vid} of ${key} for good?`, "Delete version"))) return;
          try { await call({ method: "DELETE", bucket, key, query: { versionId: vid } }); render(); } catch (e) { say(String(e.message)); }
        } })));
  });
  return h("table", { class: "list" }, h("caption", { text: `${items.length} versions and delete markers` }),
    h("thead", {}, h("tr", {}, ["Version id", "Kind", "", "Last modified", "Size", "Actions"].map((t) => h("th", { scope: "col", text: t })))),
    h("tbody", {}, rows));
}

// ---------- bucket settings ----------
async function optional(promise, missing) {
  try { return await promise; } catch (e) { if (e.code === missing) return null; throw e; }
}
function validatePolicy(raw) {
  let p;
  try { p = JSON.parse(raw); } catch (e) { throw new Error(`Not JSON: ${e.message}`); }
  if (typeof p !== "object" || p === null || Array.isArray(p)) throw new Error("A policy is a JSON object");
  const st = Array.isArray(p.Statement) ? p.Statement : p.Statement ? [p.Statement] : null;
  if (!st || !st.length) throw new Error("A policy needs a Statement");
  st.forEach((s, i) => {
    if (s.Effect !== "Allow" && s.Effect !== "Deny") throw new Error(`Statement ${i + 1}: Effect must be Allow or Deny`);
    if (!s.Action && !s.NotAction) throw new Error(`Statement ${i + 1}: Action is missing`);
    if (!s.Resource && !s.NotResource) throw new Error(`Statement ${i + 1}: Resource is missing`);
    if (!s.Principal && !s.NotPrincipal) throw new Error(`Statement ${i + 1}: Principal is missing`);
  });
  return JSON.stringify(p);
}
const LIFECYCLE_EXAMPLE = `<LifecycleConfiguration xmlns="${S3_NS}">
  <Rule><ID>expire-tmp</ID><Status>Enabled</Status><Filter><Prefix>tmp/</Prefix></Filter><Expiration><Days>7</Days></Expiration></Rule>
</LifecycleConfiguration>`;
function textEditor(id, label, value, actions, placeholder) {
  const area = h("textarea", { id, rows: 12, cols: 80, spellcheck: "false", placeholder });
  area.value = value;
  const note = h("p", { class: "note", role: "status" });
  const buttons = actions.map(([name, run]) => h("button", { type: "button", text: name, onclick: async () => {
    try { note.textContent = (await run(area.value)) || "Saved"; } catch (e) { note.textContent = String(e.message); note.className = "note error"; return; }
    note.className = "note";
  } }));
  return [h("label", { for: id, text: label }), area, h("div", { class: "row" }, buttons), note];
}
async function settingsView(bucket) {
  const [ver, tags, life, policy] = await Promise.all([
    callXml({ method: "GET", bucket, query: { versioning: "" } }),
    optional(callXml({ method: "GET", bucket, query: { tagging: "" } }), "NoSuchTagSet"),
    optional(call({ method: "GET", bucket, query: { lifecycle: "" } }).then((r) => r.text()), "NoSuchLifecycleConfiguration"),
    optional(call({ method: "GET", bucket, query: { policy: "" } }).then((r) => r.text()), "NoSuchBucketPolicy"),
  ]);
  const status = first(ver, "Status") || "Off";
  const sel = h("select", { id: "versioning" }, ["Enabled", "Suspended"].map((v) => h("option", { value: v, text: v, selected: v === status })));
  const vnote = h("p", { class: "note", role: "status", text: `Versioning is ${status === "Off" ? "off (never enabled)" : status.toLowerCase()}` });
  const saveVer = h("button", { type: "button", text: "Save versioning", onclick: async () => {
    const body = xmlDoc("VersioningConfiguration", (d, root) => add(d, root, "Status", sel.value));
    try { await call({ method: "PUT", bucket, query: { versioning: "" } }, body); vnote.textContent = `Versioning is ${sel.value.toLowerCase()}`; }
    catch (e) { vnote.textContent = String(e.message); }
  } });
  const tagForm = tagEditor("btag", tags ? readTags(tags) : [], async (list) => {
    if (list.length) await call({ method: "PUT", bucket, query: { tagging: "" } }, tagsXml(list));
    else await call({ method: "DELETE", bucket, query: { tagging: "" } });
  });
  const pretty = policy ? JSON.stringify(JSON.parse(policy), null, 2) : "";
  return [h("h1", { text: `Settings of ${bucket}` }), h("p", { class: "crumbs" }, h("a", { href: `#/browse/${encodeURIComponent(bucket)}/`, text: `Browse ${bucket}` })),
    section("Versioning", h("div", { class: "row" }, h("label", { for: "versioning", text: "Versioning status" }), sel, saveVer), vnote),
    section("Bucket tags", tagForm),
    section("Lifecycle rules", textEditor("lifecycle", "Lifecycle configuration (XML)", life || "", [
      ["Save lifecycle", async (v) => {
        const doc = new DOMParser().parseFromString(v, "application/xml");
        if (doc.getElementsByTagName("parsererror").length) throw new Error("Not well-formed XML");
        await call({ method: "PUT", bucket, query: { lifecycle: "" } }, v); return "Lifecycle saved";
      }],
      ["Remove lifecycle", async () => { await call({ method: "DELETE", bucket, query: { lifecycle: "" } }); return "Lifecycle removed"; }]], `For example:\n${LIFECYCLE_EXAMPLE}`)),
    section("Bucket policy", textEditor("policy", "Bucket policy (JSON)", pretty, [
      ["Validate policy", async (v) => { validatePolicy(v); return "The policy is valid JSON with well-formed statements"; }],
      ["Save policy", async (v) => { await call({ method: "PUT", bucket, query: { policy: "" } }, validatePolicy(v)); return "Policy saved"; }],
      ["Remove policy", async () => { await call({ method: "DELETE", bucket, query: { policy: "" } }); return "Policy removed"; }]]))];
}

// ---------- the daemon ----------
function factsList(pairs) { return h("dl", { class: "facts" }, pairs.map(([k, v]) => [h("dt", { text: k }), h("dd", { text: v === null || v === undefined ? "—" : String(v) })])); }
const LAG_SERIES = [["records", "Pending records", (v) => String(v)], ["bytes", "Pending bytes", fmtBytes], ["oldest_s", "Oldest pending record", (v) => `${Math.round(v)} s`]];
function lagChart(samples, field, label, fmt) {
  const W = 600, H = 120;
  const t0 = samples[0].t, t1 = samples[samples.length - 1].t, top = Math.max(1, ...samples.map((s) => s[field]));
  const pts = samples.map((s) => `${((s.t - t0) / (t1 - t0 || 1)) * W},${H - (s[field] / top) * H}`).join(" ");
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`); svg.setAttribute("role", "img"); svg.setAttribute("class", "chart");
  const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
  title.textContent = `${label} over the last ${Math.max(1, Math.round((t1 - t0) / 60))} minutes: peak ${fmt(top)}, now ${fmt(samples[samples.length - 1][field])}`;
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", pts); line.setAttribute("fill", "none"); line.setAttribute("stroke", "currentColor"); line.setAttribute("stroke-width", "2");
  svg.append(title, line);
  return h("figure", {}, svg, h("figcaption", { text: title.textContent }));
}
function lagCharts(samples) {
  if (samples.length < 2) return h("p", { class: "note", text: "The lag charts fill in as samples arrive (one every 10 s)." });
  return h("div", { class: "charts" }, LAG_SERIES.map(([field, label, fmt]) => lagChart(samples, field, label, fmt)));
}
function poll(render1) {
  const box = h("div", {});
  const tick = async () => {
    try { box.replaceChildren(...[await render1()].flat(Infinity).filter((x) => x != null)); } catch (e) { box.replaceChildren(errorBox(e)); }
  };
  tick();
  timers.push(setInterval(tick, STATUS_POLL_MS));
  return box;
}
function statusView() {
  return [h("h1", { text: "Status" }), poll(async () => {
    const s = await callJson({ method: "GET", admin: "/_s3d/status" });
    const hits = s.cache_hits || 0, misses = s.cache_misses || 0;
    const facts = [["Mode", s.mode], ["LSN", s.lsn], ["HWM", s.hwm], ["Pending records", s.pending_records], ["Pending bytes", fmtBytes(s.pending_bytes)],
      ["Oldest pending", `${s.oldest_pending_age_s} s`], ["Failed records", s.failed_records], ["Remote", s.remote],
      ["Remote reachable", s.remote_reachable === null ? "—" : s.remote_reachable ? "yes" : `no (${s.remote_error || ""})`],
      ["Disk free", fmtBytes(s.disk_free_bytes)], ["Objects", s.objects], ["Bytes", fmtBytes(s.bytes)]];
    if (s.mode === "gateway") {
      facts.push(["Cache used", `${fmtBytes(s.cache_used_bytes)} of ${fmtBytes(s.cache_capacity_bytes)}`], ["Dirty", fmtBytes(s.dirty_bytes)],
        ["Pinned", fmtBytes(s.pinned_bytes)], ["Cache hit ratio", hits + misses ? `${((100 * hits) / (hits + misses)).toFixed(1)} %` : "—"]);
    }
    const out = [factsList(facts)];
    if (s.mode === "gateway" && IS_ADMIN) {
      const lag = await (await fetch(CONSOLE + "api/lag", { credentials: "same-origin" })).json();
      out.push(section("Lag over the last hour", lagCharts(lag.samples)));
    }
    return out;
  })];
}
function queueView() {
  if (MODE !== "gateway") return [h("h1", { text: "Queue" }), h("p", { text: "s3d runs without a remote: there is no upload queue." })];
  const act = async (what, f) => {
    const verb = what === "retry" ? "Retry" : "Discard";
    const msg = what === "retry" ? `Try shipping ${f.bucket}/${f.key} again now?` : `Give up shipping ${f.bucket}/${f.key}? It stays local only.`;
    if (!(await confirmDialog(`${verb} record`, msg, verb))) return;
    try { await call({ method: "POST", admin: `/_s3d/queue/${what}`, query: { bucket: f.bucket, key: f.key } }); say(`${verb}: ${f.bucket}/${f.key}`); }
    catch (e) { say(String(e.message)); }
  };
  return [h("h1", { text: "Upload queue" }), poll(async () => {
    const q = await callJson({ method: "GET", admin: "/_s3d/queue" });
    const rows = q.failed.map((f) => h("tr", {}, h("td", { text: f.bucket }), h("td", { text: f.key }),
      h("td", { text: typeof f.error === "string" ? f.error : JSON.stringify(f.error) }), h("td", { class: "num", text: f.attempts }),
      h("td", {}, h("button", { type: "button", text: "Retry", "aria-label": `Retry ${f.bucket}/${f.key}`, onclick: () => act("retry", f) }), " ",
        h("button", { type: "button", class: "danger", text: "Discard", "aria-label": `Discard ${f.bucket}/${f.key}`, onclick: () => act("discard", f) }))));
    return [factsList([["HWM", q.hwm], ["Pending records", q.pending_records], ["Pending bytes", fmtBytes(q.pending_bytes)], ["Failed records", q.failed_records],
      ["Remote reachable", q.remote_reachable === null ? "—" : q.remote_reachable ? "yes" : "no"]]),
    h("table", { class: "list", id: "failed" }, h("caption", { text: `${q.failed.length} failed records` }),
      h("thead", {}, h("tr", {}, ["Bucket", "Key", "Error", "Attempts", "Actions"].map((t) => h("th", { scope: "col", text: t })))), h("tbody", {}, rows)),
    q.notes.length ? section("Notes", h("ul", {}, q.notes.map((n) => h("li", { text: `${n.bucket}/${n.key}: ${n.note}` })))) : null];
  })];
}
function syncView() {
  const b = h("input", { id: "why-bucket", required: true }), k = h("input", { id: "why-key", required: true });
  const out = h("div", { id: "why-result" });
  const form = h("form", { class: "row" }, h("label", { for: "why-bucket", text: "Bucket" }), b, h("label", { for: "why-key", text: "Key" }), k,
    h("button", { type: "submit", text: "Why?" }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const w = await callJson({ method: "GET", admin: "/_s3d/filter/why", query: { bucket: b.value, key: k.value } });
      out.replaceChildren(h("pre", { text: JSON.stringify(w, null, 2) }));
    } catch (err) { out.replaceChildren(errorBox(err)); }
  });
  return [h("h1", { text: "Sync, mounts and filters" }),
    section("Sync pairs", poll(async () => {
      const s = await callJson({ method: "GET", admin: "/_s3d/sync" });
      if (!s.pairs.length) return h("p", { text: s.configured ? "No state published yet." : "No sync pairs are configured." });
      const cols = [...new Set(s.pairs.flatMap((p) => Object.keys(p)))];
      return h("table", { class: "list" }, h("caption", { text: `${s.pairs.length} sync pairs` }),
        h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col", text: c })))),
        h("tbody", {}, s.pairs.map((p) => h("tr", {}, cols.map((c) => h("td", { text: typeof p[c] === "object" ? JSON.stringify(p[c]) : String(p[c] ?? "") }))))));
    })),
    section("Mounts", poll(async () => {
      const m = await callJson({ method: "GET", admin: "/_s3d/mounts" });
      if (!m.mounts.length) return h("p", { text: m.configured ? "No mount of your buckets is configured." : "No mounts are configured." });
      return h("table", { class: "list", id: "mounts" }, h("caption", { text: `${m.mounts.length} mounts` }),
        h("thead", {}, h("tr", {}, ["Source", "Mountpoint", "Mode", "Filter", "State"].map((c) => h("th", { scope: "col", text: c })))),
        h("tbody", {}, m.mounts.map((x) => h("tr", {}, h("td", { text: x.source }), h("td", { text: x.mountpoint }),
          h("td", { text: x.read_only ? "read-only" : "read-write" }), h("td", { text: x.filter || "" }),
          h("td", { text: x.mounted ? "mounted" : "not mounted" })))));
    })),
    section("Why is a key filtered?", form, out)];
}

// ---------- routing ----------
function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  const name = parts[0] || "buckets";
  const dec = (s) => decodeURIComponent(s || "");
  if (name === "browse") return ["browse", dec(parts[1]), dec(parts.slice(2).join("/"))];
  if (name === "object") return ["object", dec(parts[1]), dec(parts.slice(2).join("/"))];
  if (name === "settings") return ["settings", dec(parts[1])];
  return [name];
}
const VIEWS = { buckets: bucketsView, browse: browseView, object: objectView, settings: settingsView, status: statusView, queue: queueView, sync: syncView };
let rendering = 0;
let previousView = null; // the view shown before this render
let currentView = null;
async function render() {
  timers.forEach(clearInterval); timers = [];
  const [name, ...args] = route();
  previousView = currentView; currentView = name;
  const build = VIEWS[name] || bucketsView;
  const mine = ++rendering;
  view.setAttribute("aria-busy", "true");
  let content;
  try { content = await build(...args); } catch (e) { content = [h("h1", { text: "Something went wrong" }), errorBox(e)]; }
  if (mine !== rendering) return;
  view.replaceChildren(...[content].flat(Infinity).filter((x) => x != null));
  view.removeAttribute("aria-busy");
  document.querySelectorAll("header nav a").forEach((a) => {
    if (a.getAttribute("href") === `#/${name}`) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  });
  document.title = `${view.querySelector("h1")?.textContent || "Console"} · s3d console`;
}
let lastName = null;
window.addEventListener("hashchange", () => { const n = route()[0]; render().then(() => { if (n !== lastName) view.focus(); lastName = n; }); });
render();
